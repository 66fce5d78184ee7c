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
const keyColumns = ["surface", "granularity", "period_start", "actor", "payer"];

/** The tenant's watermark in D1, 0 before its first flush: every statement of a batch applies only while it equals `fromSeq`. */
const GUARD = "COALESCE((SELECT flushed_seq FROM usage_watermarks WHERE tenant = ?), 0) = ?";

/** Columns of a JSON array of arrays, bound as one parameter (`value ->> i` of each element). */
const fields = (names: string[]) => names.map((_, i) => `value ->> ${i}`).join(", ");

// Each kind of row is one statement over a JSON array, not one statement per row: a D1 batch
// pays for every statement (its parameters, its result and its metadata), and a flush of a quiet
// tenant is mostly that overhead (issue 15).
const upsertRollups = `INSERT INTO usage_rollups (tenant, ${keyColumns.join(", ")}, ${counters.join(", ")})
  SELECT ?, ${fields([...keyColumns, ...counters])} FROM json_each(?)
  WHERE ${GUARD}
  ON CONFLICT (tenant, surface, granularity, period_start, actor, payer) DO UPDATE SET
  ${counters.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`;

const upsertRefusals = `INSERT INTO usage_refusals (tenant, ${keyColumns.join(", ")}, code, count)
  SELECT ?, ${fields([...keyColumns, "code", "count"])} FROM json_each(?)
  WHERE ${GUARD}
  ON CONFLICT (tenant, surface, granularity, period_start, actor, payer, code) DO UPDATE SET count = count + excluded.count`;

/** Moves the watermark from `fromSeq` to `toSeq` (creating it at a tenant's first flush); answers a row only when it moved. */
const moveWatermark = `INSERT INTO usage_watermarks (tenant, flushed_seq) SELECT ?, ? WHERE ${GUARD}
  ON CONFLICT (tenant) DO UPDATE SET flushed_seq = excluded.flushed_seq
  RETURNING flushed_seq`;

const keyOf = (d: RollupDelta) => [d.surface, d.granularity, d.periodStart, d.actor, d.payer];

/** Writes the batch; answers the tenant's watermark after it (≥ toSeq when this or an earlier flush applied). */
export async function flushToD1(db: D1Database, batch: FlushBatch): Promise<number> {
  const { tenant, fromSeq, toSeq } = batch;
  const rollups = batch.deltas.map((d) => [
    ...keyOf(d),
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
  ]);
  const refusals = batch.deltas.flatMap((d) => Object.entries(d.refusals).map(([code, n]) => [...keyOf(d), code, n]));
  const statements = [
    ...(rollups.length > 0 ? [db.prepare(upsertRollups).bind(tenant, JSON.stringify(rollups), tenant, fromSeq)] : []),
    ...(refusals.length > 0 ? [db.prepare(upsertRefusals).bind(tenant, JSON.stringify(refusals), tenant, fromSeq)] : []),
    ...(batch.requests && batch.requests.length > 0 ? [db.prepare(upsertRequests).bind(tenant, JSON.stringify(batch.requests), tenant, fromSeq)] : []),
    db.prepare(moveWatermark).bind(tenant, toSeq, tenant, fromSeq),
  ];
  const results = await db.batch<{ flushed_seq: number }>(statements);
  if (results.at(-1)?.results[0] !== undefined) return toSeq;
  // Refused: D1 is elsewhere (a flush that crashed before the limiter trimmed, or a race). Say where.
  const row = await db.prepare("SELECT flushed_seq FROM usage_watermarks WHERE tenant = ?").bind(tenant).first<{ flushed_seq: number }>();
  return row?.flushed_seq ?? 0;
}
