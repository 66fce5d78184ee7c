// Per-request usage rows in D1 (issue 12: CloudEvents, simulation, advice, callers): each usage
// event of a request moves its row — the first creates it, a correction adjusts it — in the same
// watermark-guarded flush batch as the rollups, so exactly once. One statement per batch.
import type { UsageEvent } from "./rollup";

/** A row of `usage_requests` as D1 answers it (migrations 0008, 0013); readers pick the columns they need. */
export interface UsageRequestRow {
  tenant: string;
  request_id: string;
  at: number;
  surface: string;
  actor: string;
  payer: string;
  outcome: string;
  status: number;
  reason: string | null;
  units: number;
  cost: number;
  savings: number;
  incentives: string | null;
  signals: number;
  catalog_version: number | null;
  origin_request: string | null;
}

/** Per-request rows live this long (days); rollups keep the totals for good. */
export const REQUEST_RETENTION_DAYS = 7;

export interface RequestDelta {
  r: string; // request id
  at: number;
  s: string; // surface
  a: string; // actor
  p: string; // payer
  o: string; // the request's outcome after this event
  st: number;
  re: string | null; // reason
  u: number;
  c: number;
  sv: number;
  i: string | null; // incentives JSON
  sg: number;
  cv: number | null;
  og: string | null; // a report's originating request
}

/** How each event moves its request's row; aggregates (no request id) have none. */
export function requestDeltas(events: UsageEvent[], tenant: string): RequestDelta[] {
  const out: RequestDelta[] = [];
  for (const e of events) {
    if (!e.requestId || e.surface === null || e.outcome === "unreported") continue;
    const sign = e.outcome === "voided" ? -1 : 1;
    const outcome = e.outcome === "voided" ? "failed" : e.outcome === "recharged" ? "charged" : e.outcome === "late" ? "unsettled" : e.outcome;
    const money = e.outcome === "charged" || e.outcome === "unsettled" || e.outcome === "voided" || e.outcome === "recharged" || e.outcome === "late" || e.outcome === "reported";
    out.push({
      r: e.requestId,
      at: e.at,
      s: e.surface,
      a: e.attribution?.actor ?? tenant,
      p: e.attribution?.payer ?? tenant,
      o: outcome,
      st: e.status ?? 0,
      re: e.reason ?? null,
      u: money ? sign * e.units : 0,
      c: money ? sign * e.cost : 0,
      sv: money ? sign * e.savings : 0,
      i: e.incentives.length > 0 ? JSON.stringify(e.incentives) : null,
      sg: e.signals ?? 0,
      cv: e.catalogVersion ?? null,
      og: e.origin ?? null,
    });
  }
  return out;
}

const field = (name: string) => `json_extract(value, '$.${name}')`;

/** The statement that applies `deltas` (bound as one JSON array), guarded by the tenant's watermark. */
export const upsertRequests = `INSERT INTO usage_requests (tenant, request_id, at, surface, actor, payer, outcome, status, reason, units, cost, savings, incentives, signals, catalog_version, origin_request)
  SELECT ?, ${field("r")}, ${field("at")}, ${field("s")}, ${field("a")}, ${field("p")}, ${field("o")}, ${field("st")}, ${field("re")},
         ${field("u")}, ${field("c")}, ${field("sv")}, ${field("i")}, ${field("sg")}, ${field("cv")}, ${field("og")}
  FROM json_each(?)
  WHERE COALESCE((SELECT flushed_seq FROM usage_watermarks WHERE tenant = ?), 0) = ?
  ON CONFLICT (tenant, request_id) DO UPDATE SET
    outcome = excluded.outcome,
    status = CASE WHEN excluded.status <> 0 THEN excluded.status ELSE status END,
    reason = COALESCE(excluded.reason, reason),
    units = units + excluded.units, cost = cost + excluded.cost, savings = savings + excluded.savings,
    incentives = COALESCE(excluded.incentives, incentives)`;
