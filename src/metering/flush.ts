// Writing a batch of rollup deltas to D1, exactly once. The batch is one D1 transaction whose
// every upsert only applies while the tenant's watermark still equals `fromSeq`, and whose last
// statement moves the watermark to `toSeq`. A flush repeated after a crash (D1 written, limiter
// not yet trimmed) therefore changes nothing, and the limiter learns the watermark from D1.
import { INCENTIVE_NAMES } from "../pricing/incentives";
import { INCENTIVE_COLUMNS, type RollupDelta } from "./rollup";
import { upsertRequests, type RequestDelta } from "./requests";

export interface FlushBatch {
  tenant: string;
  fromSeq: number;
  toSeq: number;
  deltas: RollupDelta[];
  /** Per-request rows the same events move (issue 12). */
  requests?: RequestDelta[];
}

const incentiveColumns = Object.values(INCENTIVE_COLUMNS);
const counters = ["requests", "charged", "rejected", "failed", "unsettled", "unreported", "early_retries", "units", "cost", "savings", "earnings", "shadow_refusals", "reported", ...incentiveColumns];

const upsert = `INSERT INTO usage_rollups (tenant, surface, granularity, period_start, actor, payer, ${counters.join(", ")})
  SELECT ?, ?, ?, ?, ?, ?, ${counters.map(() => "?").join(", ")}
  WHERE (SELECT flushed_seq FROM usage_watermarks WHERE tenant = ?) = ?
  ON CONFLICT (tenant, surface, granularity, period_start, actor, payer) DO UPDATE SET
  ${counters.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`;

const upsertRefusals = `INSERT INTO usage_refusals (tenant, surface, granularity, period_start, actor, payer, code, count)
  SELECT ?, ?, ?, ?, ?, ?, ?, ?
  WHERE (SELECT flushed_seq FROM usage_watermarks WHERE tenant = ?) = ?
  ON CONFLICT (tenant, surface, granularity, period_start, actor, payer, code) DO UPDATE SET count = count + excluded.count`;

/** Writes the batch; answers the tenant's watermark after it (≥ toSeq when this or an earlier flush applied). */
export async function flushToD1(db: D1Database, batch: FlushBatch): Promise<number> {
  const { tenant, fromSeq, toSeq } = batch;
  const statements = [
    db.prepare("INSERT INTO usage_watermarks (tenant, flushed_seq) VALUES (?, 0) ON CONFLICT (tenant) DO NOTHING").bind(tenant),
    ...batch.deltas.map((d) =>
      db
        .prepare(upsert)
        .bind(
          tenant,
          d.surface,
          d.granularity,
          d.periodStart,
          d.actor,
          d.payer,
          d.requests,
          d.charged,
          d.rejected,
          d.failed,
          d.unsettled,
          d.unreported,
          d.earlyRetries,
          d.units,
          d.cost,
          d.savings,
          d.earnings,
          d.shadowRefusals,
          d.reported,
          ...INCENTIVE_NAMES.map((name) => d.incentives[name]),
          tenant,
          fromSeq,
        ),
    ),
    ...batch.deltas.flatMap((d) =>
      Object.entries(d.refusals).map(([code, n]) => db.prepare(upsertRefusals).bind(tenant, d.surface, d.granularity, d.periodStart, d.actor, d.payer, code, n, tenant, fromSeq)),
    ),
    ...(batch.requests && batch.requests.length > 0 ? [db.prepare(upsertRequests).bind(tenant, JSON.stringify(batch.requests), tenant, fromSeq)] : []),
    db.prepare("UPDATE usage_watermarks SET flushed_seq = ? WHERE tenant = ? AND flushed_seq = ?").bind(toSeq, tenant, fromSeq),
    db.prepare("SELECT flushed_seq FROM usage_watermarks WHERE tenant = ?").bind(tenant),
  ];
  const results = await db.batch<{ flushed_seq: number }>(statements);
  return results.at(-1)?.results[0]?.flushed_seq ?? fromSeq;
}
