// Reading rollup rows from D1 (CONTRACT §5): the row shape of the API, money as decimal strings.
import { formatMoney } from "../pricing/money";
import { z } from "@hono/zod-openapi";
import { INCENTIVE_NAMES } from "../pricing/incentives";
import { GRANULARITIES, INCENTIVE_COLUMNS, type Granularity, type IncentiveName } from "./rollup";

/** A rollup row as the API answers it (CONTRACT §5, §6): the one definition, which also documents it in OpenAPI. */
export const RollupRowSchema = z
  .object({
    tenant: z.string(),
    surface: z.string(),
    actor: z.string().openapi({ description: "who made the calls: the tenant itself, or a partner on its behalf" }),
    payer: z.string().openapi({ description: "who pays for them: the tenant, or the partner (a grant with payer \"partner\")" }),
    granularity: z.enum(GRANULARITIES),
    periodStart: z.string(),
    requests: z.number().int(),
    charged: z.number().int(),
    rejected: z.number().int(),
    failed: z.number().int().openapi({ description: "requests the origin failed (≥ 500, unreachable, timed out, broken off): not charged" }),
    unsettled: z.number().int().openapi({ description: "admissions settled by the limiter at the end of their lease (never heard back from the Worker)" }),
    unreported: z.number().int().openapi({ description: "leased permits whose holder never reported them (docs/catalog.md, admission and leases)" }),
    earlyRetries: z.number().int(),
    shadowRefusals: z.number().int().openapi({ description: "requests a shadow rule forwarded although a limit would have refused them" }),
    units: z.number().int(),
    reported: z.number().int().openapi({ description: "units that arrived by report (CONTRACT §11), in the hour of their time" }),
    cost: z.string(),
    savings: z.string(),
    partnerEarnings: z.string().openapi({ description: "the actor's (a partner's) revenue share of `cost`, when the customer pays" }),
    incentives: z.partialRecord(z.enum(INCENTIVE_NAMES), z.number().int()),
    refusals: z.record(z.string(), z.number().int()).openapi({ description: "Tollgate's refusals by problem code, e.g. {\"rate-limited\": 3}", example: { "rate-limited": 3 } }),
  })
  .openapi("RollupRow");
export type RollupRow = z.infer<typeof RollupRowSchema>;

export interface UsageFilter {
  tenant?: string | undefined;
  actor?: string | undefined;
  payer?: string | undefined;
  /** Rows of calls a partner made for others: actor = this, tenant ≠ this. */
  actingFor?: string | undefined;
  surface?: string | undefined;
  from?: string | undefined; // ISO, inclusive on periodStart
  to?: string | undefined; // ISO, exclusive on periodStart
  granularity: Granularity;
}

interface Row {
  tenant: string;
  surface: string;
  actor: string;
  payer: string;
  earnings: number;
  granularity: Granularity;
  period_start: string;
  requests: number;
  charged: number;
  rejected: number;
  failed: number;
  unsettled: number;
  unreported: number;
  early_retries: number;
  shadow_refusals: number;
  reported: number;
  units: number;
  cost: number;
  savings: number;
  incentive_idempotency_key: number;
  incentive_batch: number;
  incentive_conditional: number;
}

interface RefusalRow {
  tenant: string;
  surface: string;
  actor: string;
  payer: string;
  granularity: Granularity;
  period_start: string;
  code: string;
  count: number;
}

export function rowOf(r: Row, refusals: Record<string, number> = {}): RollupRow {
  const incentives: RollupRow["incentives"] = {};
  for (const [name, column] of Object.entries(INCENTIVE_COLUMNS) as [IncentiveName, keyof Row][]) {
    const n = r[column] as number;
    if (n > 0) incentives[name] = n;
  }
  return {
    tenant: r.tenant,
    surface: r.surface,
    actor: r.actor,
    payer: r.payer,
    granularity: r.granularity,
    periodStart: r.period_start,
    requests: r.requests,
    charged: r.charged,
    rejected: r.rejected,
    failed: r.failed,
    unsettled: r.unsettled,
    unreported: r.unreported,
    earlyRetries: r.early_retries,
    shadowRefusals: r.shadow_refusals,
    reported: r.reported,
    units: r.units,
    cost: formatMoney(r.cost),
    savings: formatMoney(r.savings),
    partnerEarnings: formatMoney(r.earnings),
    incentives,
    refusals,
  };
}

const rowKey = (r: { tenant: string; surface: string; granularity: string; period_start: string; actor: string; payer: string }) =>
  `${r.tenant}\u0000${r.surface}\u0000${r.granularity}\u0000${r.period_start}\u0000${r.actor}\u0000${r.payer}`;

export async function queryRollups(db: D1Database, f: UsageFilter): Promise<RollupRow[]> {
  const where = ["granularity = ?"];
  const args: (string | number)[] = [f.granularity];
  if (f.tenant !== undefined) (where.push("tenant = ?"), args.push(f.tenant));
  if (f.surface !== undefined) (where.push("surface = ?"), args.push(f.surface));
  if (f.actor !== undefined) (where.push("actor = ?"), args.push(f.actor));
  if (f.payer !== undefined) (where.push("payer = ?"), args.push(f.payer));
  if (f.actingFor !== undefined) (where.push("actor = ? AND tenant <> ?"), args.push(f.actingFor, f.actingFor));
  if (f.from !== undefined) (where.push("period_start >= ?"), args.push(f.from));
  if (f.to !== undefined) (where.push("period_start < ?"), args.push(f.to));
  const [rollups, refusals] = await db.batch<Row | RefusalRow>([
    db.prepare(`SELECT * FROM usage_rollups WHERE ${where.join(" AND ")} ORDER BY period_start, tenant, surface, actor, payer`).bind(...args),
    db.prepare(`SELECT * FROM usage_refusals WHERE ${where.join(" AND ")} AND count <> 0 ORDER BY code`).bind(...args),
  ]);
  const byRow = new Map<string, Record<string, number>>();
  for (const r of (refusals?.results ?? []) as RefusalRow[]) {
    const codes = byRow.get(rowKey(r)) ?? {};
    codes[r.code] = r.count;
    byRow.set(rowKey(r), codes);
  }
  return ((rollups?.results ?? []) as Row[]).map((r) => rowOf(r, byRow.get(rowKey(r))));
}
