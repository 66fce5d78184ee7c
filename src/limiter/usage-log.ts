// The limiter's usage events (CONTRACT §5, §6): one row per request (or per aggregate of refusals
// or leased requests), flushed to the D1 rollups, then compacted into hourly aggregates.
import type { UsageEvent, UsageOutcome } from "../metering/rollup";
import type { Attribution } from "./protocol";

export const HOUR_MS = 60 * 60 * 1000;

export interface EventRow extends Record<string, SqlStorageValue> {
  seq: number;
  reason: string | null;
  actor: string | null;
  payer: string | null;
  share_ppm: number;
  request_id: string;
  status: number;
  signals: number;
  catalog_version: number | null;
  shadow: string | null;
  origin: string | null;
  at: number;
  surface: string | null;
  outcome: UsageOutcome;
  early_retry: number;
  units: number;
  cost: number;
  savings: number;
  incentives: string | null;
  weight: number;
}

export const eventOf = (r: EventRow): UsageEvent => ({
  seq: r.seq,
  at: r.at,
  surface: r.surface,
  outcome: r.outcome,
  earlyRetry: r.early_retry === 1,
  units: r.units,
  cost: r.cost,
  savings: r.savings,
  incentives: r.incentives === null ? [] : (JSON.parse(r.incentives) as string[]),
  weight: r.weight,
  reason: r.reason,
  requestId: r.request_id,
  status: r.status,
  signals: r.signals,
  catalogVersion: r.catalog_version,
  ...(r.shadow !== null && { shadow: r.shadow.split(",") }),
  ...(r.origin !== null && { origin: r.origin }),
  ...(r.actor !== null && { attribution: { actor: r.actor, payer: r.payer ?? r.actor, sharePpm: r.share_ppm } }),
});

/** The columns a flush reads. */
export const EVENT_COLUMNS = "seq, at, surface, outcome, reason, early_retry, units, cost, savings, incentives, weight, actor, payer, share_ppm, request_id, status, signals, catalog_version, shadow, origin";

export interface NewEvent {
  at: number;
  requestId: string;
  surface: string | null;
  status: number;
  outcome: UsageOutcome;
  reason?: string;
  earlyRetry?: boolean;
  units?: number;
  cost?: number;
  savings?: number;
  incentives?: string[];
  catalogVersion?: number;
  weight?: number;
  /** A delegated call (CONTRACT §7); absent for the tenant's own calls. */
  attribution?: Attribution | null;
  /** What the request signalled: 1 unsafe method, 2 Idempotency-Key, 4 conditional. */
  signals?: number;
  /** The limits a shadow rule would have refused it for (issue 12). */
  shadow?: string[] | null;
  /** A reported outcome's originating request (CONTRACT §11). */
  origin?: string;
}

const EVENT_INSERT_COLUMNS = ["at", "request_id", "surface", "status", "outcome", "reason", "early_retry", "units", "cost", "savings", "incentives", "catalog_version", "weight", "actor", "payer", "share_ppm", "signals", "shadow", "origin"] as const;

/** An event's values, in the order of EVENT_INSERT_COLUMNS. */
function eventValues(e: NewEvent): SqlStorageValue[] {
  return [
    e.at,
    e.requestId,
    e.surface,
    e.status,
    e.outcome,
    e.reason ?? null,
    e.earlyRetry ? 1 : 0,
    e.units ?? 0,
    e.cost ?? 0,
    e.savings ?? 0,
    e.incentives && e.incentives.length > 0 ? JSON.stringify(e.incentives) : null,
    e.catalogVersion ?? null,
    e.weight ?? 1,
    e.attribution?.actor ?? null,
    e.attribution?.payer ?? null,
    e.attribution?.sharePpm ?? 0,
    e.signals ?? 0,
    e.shadow && e.shadow.length > 0 ? e.shadow.join(",") : null,
    e.origin ?? null,
  ];
}

const INSERT_ONE = `INSERT INTO usage_events (${EVENT_INSERT_COLUMNS.join(", ")}) VALUES (${EVENT_INSERT_COLUMNS.map(() => "?").join(", ")})`;
const INSERT_MANY = `INSERT INTO usage_events (${EVENT_INSERT_COLUMNS.join(", ")})
  SELECT ${EVENT_INSERT_COLUMNS.map((_, i) => `value ->> ${i}`).join(", ")} FROM json_each(?) ORDER BY key`;

export function recordEvent(sql: SqlStorage, e: NewEvent): void {
  sql.exec(INSERT_ONE, ...eventValues(e));
}

/**
 * Many events in one statement, in order (a batch of outcome reports, CONTRACT §11): each
 * statement costs a crossing into SQLite, so a thousand events cost one, not a thousand.
 */
export function recordEvents(sql: SqlStorage, events: NewEvent[]): void {
  if (events.length === 0) return;
  sql.exec(INSERT_MANY, JSON.stringify(events.map(eventValues)));
}

export function flushedThrough(sql: SqlStorage): number {
  return sql.exec<{ value: number }>("SELECT value FROM meta WHERE name = 'flushed_through'").toArray()[0]?.value ?? 0;
}

/** Events not yet flushed, from the sequence alone (no scan): flushed events are compacted away, and seq has no gaps. */
export function unflushedEvents(sql: SqlStorage): number {
  const top = sql.exec<{ top: number | null }>("SELECT MAX(seq) AS top FROM usage_events").one().top;
  return top === null ? 0 : Math.max(0, top - flushedThrough(sql));
}

/**
 * Flushed usage events become hourly aggregates (per surface, outcome, reason, status, early
 * retry, incentive set and catalog version), kept USAGE_EVENT_DAYS: the limiter's storage then
 * grows with that variety, not with traffic (CONTRACT §6).
 */
export function compactThrough(sql: SqlStorage, watermark: number): void {
  sql.exec(
    `INSERT INTO usage_history (hour, surface, outcome, reason, status, early_retry, incentives, catalog_version, actor, payer, share_ppm, requests, units, cost, savings)
     SELECT at - (at % ${HOUR_MS}), COALESCE(surface, ''), outcome, COALESCE(reason, ''), status, early_retry, COALESCE(incentives, ''),
            COALESCE(catalog_version, -1), COALESCE(actor, ''), COALESCE(payer, ''), share_ppm, SUM(weight), SUM(units), SUM(cost), SUM(savings)
     FROM usage_events WHERE seq <= ? GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
     ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, units = units + excluded.units,
       cost = cost + excluded.cost, savings = savings + excluded.savings`,
    watermark,
  );
  sql.exec("DELETE FROM usage_events WHERE seq <= ?", watermark);
}

const HISTORY_COLUMNS = ["hour", "surface", "outcome", "reason", "status", "early_retry", "incentives", "catalog_version", "actor", "payer", "share_ppm", "requests", "units", "cost", "savings"] as const;
const UPSERT_HISTORY = `INSERT INTO usage_history (${HISTORY_COLUMNS.join(", ")})
  SELECT ${HISTORY_COLUMNS.map((_, i) => `value ->> ${i}`).join(", ")} FROM json_each(?) WHERE true
  ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, units = units + excluded.units,
    cost = cost + excluded.cost, savings = savings + excluded.savings`;

/**
 * compactThrough for events the caller has already read — every event through `watermark` not
 * yet compacted, as a flush has them: the same hourly aggregates, summed here rather than by a
 * GROUP BY over the table (a sort per flush), then written in one statement. With a flood of
 * reports the compaction was a fifth of the limiter's time (issue 14).
 */
export function compactEvents(sql: SqlStorage, events: UsageEvent[], watermark: number): void {
  const groups = new Map<string, (string | number)[]>();
  for (const e of events) {
    if (e.seq > watermark) continue;
    const hour = e.at - (e.at % HOUR_MS);
    const a = e.attribution;
    // Grouped by the table's key, with compactThrough's COALESCEs.
    const id = `${hour}\u0000${e.surface ?? ""}\u0000${e.outcome}\u0000${e.reason ?? ""}\u0000${e.status ?? 0}\u0000${e.earlyRetry ? 1 : 0}\u0000${e.incentives.join(",")}\u0000${e.catalogVersion ?? -1}\u0000${a?.actor ?? ""}\u0000${a?.payer ?? ""}\u0000${a?.sharePpm ?? 0}`;
    const weight = e.weight ?? 1;
    const sums = groups.get(id);
    if (sums) {
      (sums[11] as number) += weight;
      (sums[12] as number) += e.units;
      (sums[13] as number) += e.cost;
      (sums[14] as number) += e.savings;
    } else {
      // The incentives as recorded: the JSON of their array, "" for none.
      const incentives = e.incentives.length > 0 ? JSON.stringify(e.incentives) : "";
      const key = [hour, e.surface ?? "", e.outcome, e.reason ?? "", e.status ?? 0, e.earlyRetry ? 1 : 0, incentives, e.catalogVersion ?? -1, a?.actor ?? "", a?.payer ?? "", a?.sharePpm ?? 0];
      groups.set(id, [...key, weight, e.units, e.cost, e.savings]);
    }
  }
  if (groups.size > 0) sql.exec(UPSERT_HISTORY, JSON.stringify([...groups.values()]));
  sql.exec("DELETE FROM usage_events WHERE seq <= ?", watermark);
}
