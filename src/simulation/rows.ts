// Reading `usage_requests` rows (migration 0008) for the simulation and advice, in the order each
// tenant's limiter recorded them: a tenant's rows are inserted by its one flush at a time, in the
// order of its usage events, and a later correction updates a row in place — so rowid is that order.
import type { UsageRequestRow } from "../metering/requests";
import type { RequestRow } from "./simulate";

/** More rows than a Worker should hold at once: the caller is asked to narrow the window or the tenants. */
export const MAX_SIMULATED_ROWS = 200_000;

type Row = Pick<UsageRequestRow, "tenant" | "request_id" | "at" | "surface" | "actor" | "payer" | "outcome" | "status" | "reason" | "units" | "cost" | "incentives" | "signals">;

export const requestRowOf = (r: Row): RequestRow => ({
  tenant: r.tenant,
  requestId: r.request_id,
  at: r.at,
  surface: r.surface,
  actor: r.actor,
  payer: r.payer,
  outcome: r.outcome,
  status: r.status,
  reason: r.reason,
  units: r.units,
  cost: r.cost,
  incentives: r.incentives === null ? [] : (JSON.parse(r.incentives) as string[]),
  signals: r.signals,
});

/**
 * The rows of `tenants` (all when undefined) recorded at or after `from` and before `to`, each
 * tenant's in its limiter's order. Answers null when there are more than `limit`.
 */
export async function readRequestRows(db: D1Database, q: { tenants?: readonly string[]; from: number; to: number; limit?: number }): Promise<RequestRow[] | null> {
  const limit = q.limit ?? MAX_SIMULATED_ROWS;
  const filter = q.tenants ? ` AND tenant IN (SELECT value FROM json_each(?))` : "";
  const binds: unknown[] = [q.from, q.to, ...(q.tenants ? [JSON.stringify(q.tenants)] : []), limit + 1];
  const { results } = await db
    .prepare(`SELECT tenant, request_id, at, surface, actor, payer, outcome, status, reason, units, cost, incentives, signals FROM usage_requests WHERE at >= ? AND at < ?${filter} ORDER BY tenant, rowid LIMIT ?`)
    .bind(...binds)
    .all<Row>();
  if (results.length > limit) return null;
  return results.map(requestRowOf);
}
