// Usage as Stripe Billing meter events (CONTRACT §10): one event per payer × surface × closed hour
// that cost something, from the hour rollups, with an identifier derived only from (payer,
// surface, hour, value kind) — a re-sent hour is deduplicated by Stripe, and a units meter and a
// cost meter never collide. Stripe remembers identifiers for about a day, so the gateway keeps its
// own ledger of what it handed out (D1 `export_ledger`): a later export skips those hours, and
// `again` re-sends the ledgered events unchanged.
//
// Late units (CONTRACT §11: reports, or a request counted in an hour after it was exported) change
// an exported hour: the next export sends a correction — the same event name and customer, the
// original identifier + `-r<revision>`, the value now minus everything sent for the hour so far —
// and records it in D1 `export_corrections`. Stripe sums meter events, so the hour's events add up
// to its value. A meter event cannot be negative: an hour whose value dropped below what was sent
// (a refund after the export) is reported, not sent.
import { sha256Hex } from "../crypto";
import { parseMoney } from "../pricing/money";
import type { RollupRow } from "./usage-rows";

export interface StripeMeterEvent {
  event_name: string;
  payload: { stripe_customer_id: string; value: string };
  identifier: string;
  timestamp: number;
}

export type ExportValue = "units" | "cost";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Stripe refuses meter events whose timestamp is more than 35 days in the past. */
export const STRIPE_WINDOW_DAYS = 35;
/** An hour's event carries the middle of the hour: inside it, whatever Stripe rounds. */
export const TIMESTAMP_OFFSET_S = 1800;
/** Ledger rows written per statement (each a JSON array bound as one parameter). */
const LEDGER_CHUNK = 500;

export const eventNameOf = (surface: string) => `tollgate_${surface.replace(/[^A-Za-z0-9]/g, "_")}`;

/** `tg_` + SHA-256 hex of "payer|surface|hour|kind": 67 characters (Stripe allows 100). Tenant and surface ids cannot hold `|`. */
export const identifierOf = async (payer: string, surface: string, hour: string, kind: ExportValue) =>
  `tg_${await sha256Hex(`${payer}|${surface}|${hour}|${kind}`)}`;

/** The first hour start Stripe still accepts an event for at `now`. */
export const oldestExportableHour = (now: number) => Math.ceil((now - STRIPE_WINDOW_DAYS * DAY_MS) / HOUR_MS) * HOUR_MS;

/**
 * One exported (or to be exported) meter event, as the ledger keeps it: the hour's original event
 * (revision 0, D1 `export_ledger`) or a correction of it (revision ≥ 1, D1 `export_corrections`)
 * carrying the difference between the hour's value then and what was sent before.
 */
export interface LedgerEntry {
  payer: string;
  surface: string;
  hour: string; // ISO start
  kind: ExportValue;
  revision: number;
  value: number;
  identifier: string;
  eventName: string;
  customer: string;
}

export const keyOf = (e: { payer: string; surface: string; hour: string }) => `${e.payer}\u0000${e.surface}\u0000${e.hour}`;
const revisionKeyOf = (e: { payer: string; surface: string; hour: string; revision: number }) => `${keyOf(e)}\u0000${e.revision}`;

/** A correction's identifier: the original's with `-r<revision>` (67 + 2 + digits ≤ 100 characters). */
export const correctionIdentifierOf = (original: string, revision: number) => `${original}-r${revision}`;

export const eventOf = (e: LedgerEntry): StripeMeterEvent => ({
  event_name: e.eventName,
  payload: { stripe_customer_id: e.customer, value: String(e.value) },
  identifier: e.identifier,
  timestamp: Date.parse(e.hour) / 1000 + TIMESTAMP_OFFSET_S,
});

/** What the hour rows bill: rows are split by actor and payer; the payer is the one billed. */
export function billedHours(rows: RollupRow[]): { payer: string; surface: string; hour: string; units: number; cost: number }[] {
  const billed = new Map<string, { payer: string; surface: string; hour: string; units: number; cost: number }>();
  for (const row of rows) {
    if (row.granularity !== "hour") continue;
    const line = { payer: row.payer, surface: row.surface, hour: row.periodStart };
    const sum = billed.get(keyOf(line)) ?? { ...line, units: 0, cost: 0 };
    sum.units += row.units;
    sum.cost += parseMoney(row.cost);
    billed.set(keyOf(line), sum);
  }
  return [...billed.values()].sort(byHourPayerSurface);
}

const byHourPayerSurface = (a: { hour: string; payer: string; surface: string }, b: { hour: string; payer: string; surface: string }) =>
  a.hour.localeCompare(b.hour) || a.payer.localeCompare(b.payer) || a.surface.localeCompare(b.surface);

/** The order events leave in: by hour, payer, surface, then the original before its corrections. */
export const byEventOrder = (a: LedgerEntry, b: LedgerEntry) => byHourPayerSurface(a, b) || a.revision - b.revision;

/** An exported hour whose value is now below what was sent: a meter event cannot carry it. */
export interface NegativeDifference {
  payer: string;
  surface: string;
  hour: string;
  difference: number;
}

export interface ExportPlan {
  /** Events not in the ledger yet — originals of hours never sent, and corrections: to record, then send. */
  fresh: LedgerEntry[];
  /** Ledgered events (originals and corrections) sent again unchanged (`again`). */
  resend: LedgerEntry[];
  /** Hours with usage (or a correction) to send that Stripe no longer accepts. */
  tooOld: string[];
  /** Exported hours whose value dropped below what was sent: reported, nothing sent. */
  negative: NegativeDifference[];
  /** Payers with usage to send but no `billing.stripeCustomerId`. */
  skippedTenants: string[];
}

/**
 * Pure: which events an export at `now` sends. `rows` are the hour rows of the range, `ledger` the
 * range's ledgered entries of this value kind (originals and corrections), `customers` payer →
 * Stripe customer id. An hour is sent once it has ended, if it cost something, and if it started
 * within Stripe's window. An hour already sent whose value now differs from the sum of what was
 * sent for it (late units) gets a correction: the next revision, valued at the difference, sent to
 * the customer and under the event name of its original (so Stripe's sum is the hour's value).
 */
export async function planExport(
  rows: RollupRow[],
  ledger: LedgerEntry[],
  customers: Map<string, string>,
  options: { kind: ExportValue; again: boolean; now: number },
): Promise<ExportPlan> {
  const oldest = oldestExportableHour(options.now);
  const sent = new Map<string, { original: LedgerEntry | undefined; value: number; revision: number }>();
  for (const e of ledger) {
    const s = sent.get(keyOf(e)) ?? { original: undefined, value: 0, revision: 0 };
    s.value += e.value;
    s.revision = Math.max(s.revision, e.revision);
    if (e.revision === 0) s.original = e;
    sent.set(keyOf(e), s);
  }
  const tooOld = new Set<string>();
  const skipped = new Set<string>();
  const negative: NegativeDifference[] = [];
  const fresh: LedgerEntry[] = [];
  for (const line of billedHours(rows)) {
    const start = Date.parse(line.hour);
    if (start + HOUR_MS > options.now) continue;
    const value = options.kind === "cost" ? line.cost : line.units;
    const before = sent.get(keyOf(line));
    if (before?.original !== undefined) {
      const difference = value - before.value;
      if (difference === 0) continue;
      if (start < oldest) tooOld.add(line.hour);
      else if (difference < 0) negative.push({ payer: line.payer, surface: line.surface, hour: line.hour, difference });
      else {
        const revision = before.revision + 1;
        const { identifier, eventName, customer } = before.original;
        fresh.push({ payer: line.payer, surface: line.surface, hour: line.hour, kind: options.kind, revision, value: difference, identifier: correctionIdentifierOf(identifier, revision), eventName, customer });
      }
      continue;
    }
    if (line.cost <= 0) continue;
    if (start < oldest) {
      tooOld.add(line.hour);
      continue;
    }
    const customer = customers.get(line.payer);
    if (customer === undefined) {
      skipped.add(line.payer);
      continue;
    }
    fresh.push({
      payer: line.payer,
      surface: line.surface,
      hour: line.hour,
      kind: options.kind,
      revision: 0,
      value,
      identifier: await identifierOf(line.payer, line.surface, line.hour, options.kind),
      eventName: eventNameOf(line.surface),
      customer,
    });
  }
  const resend: LedgerEntry[] = [];
  if (options.again) {
    for (const e of ledger) {
      if (Date.parse(e.hour) < oldest) tooOld.add(e.hour);
      else resend.push(e);
    }
  }
  return { fresh: fresh.sort(byEventOrder), resend: resend.sort(byEventOrder), tooOld: [...tooOld].sort(), negative, skippedTenants: [...skipped].sort() };
}

interface LedgerRow {
  payer: string;
  surface: string;
  hour: string;
  value_kind: ExportValue;
  revision: number;
  value: number;
  identifier: string;
  event_name: string;
  customer: string;
}

/** The ledgered entries of `kind` whose hour starts in [from, to): originals and their corrections. */
export async function readLedger(db: D1Database, kind: ExportValue, from: string, to: string): Promise<LedgerEntry[]> {
  const columns = "payer, surface, hour, value_kind, value, identifier, event_name, customer";
  const where = "WHERE value_kind = ? AND hour >= ? AND hour < ?";
  const [originals, corrections] = await db.batch<LedgerRow>([
    db.prepare(`SELECT ${columns}, 0 AS revision FROM export_ledger ${where}`).bind(kind, from, to),
    db.prepare(`SELECT ${columns}, revision FROM export_corrections ${where}`).bind(kind, from, to),
  ]);
  return [...originals!.results, ...corrections!.results]
    .map((r) => ({ payer: r.payer, surface: r.surface, hour: r.hour, kind: r.value_kind, revision: r.revision, value: r.value, identifier: r.identifier, eventName: r.event_name, customer: r.customer }))
    .sort(byEventOrder);
}

const field = (name: string) => `json_extract(value, '$.${name}')`;

/**
 * Records `entries` in the ledger and answers those this call recorded: an entry another export
 * recorded first (two exports at once) is theirs to send, so no event leaves twice. Two exports
 * that both plan revision n of an hour record one of them; the other's difference is left to the
 * next export, computed against what was recorded.
 */
export async function recordExport(db: D1Database, entries: LedgerEntry[], now: number): Promise<LedgerEntry[]> {
  const recorded = new Set<string>();
  const insert = async (table: "export_ledger" | "export_corrections", batch: LedgerEntry[]) => {
    const revision = table === "export_corrections";
    for (let i = 0; i < batch.length; i += LEDGER_CHUNK) {
      const chunk = batch.slice(i, i + LEDGER_CHUNK).map((e) => ({ p: e.payer, s: e.surface, h: e.hour, k: e.kind, r: e.revision, v: e.value, i: e.identifier, n: e.eventName, c: e.customer }));
      const { results } = await db
        .prepare(
          `INSERT INTO ${table} (payer, surface, hour, value_kind, ${revision ? "revision, " : ""}value, identifier, event_name, customer, exported_at)
           SELECT ${field("p")}, ${field("s")}, ${field("h")}, ${field("k")}, ${revision ? `${field("r")}, ` : ""}${field("v")}, ${field("i")}, ${field("n")}, ${field("c")}, ?
           FROM json_each(?) WHERE true
           ON CONFLICT DO NOTHING
           RETURNING payer, surface, hour, ${revision ? "revision" : "0 AS revision"}`,
        )
        .bind(now, JSON.stringify(chunk))
        .all<{ payer: string; surface: string; hour: string; revision: number }>();
      for (const r of results) recorded.add(revisionKeyOf(r));
    }
  };
  await insert("export_ledger", entries.filter((e) => e.revision === 0));
  await insert("export_corrections", entries.filter((e) => e.revision > 0));
  return entries.filter((e) => recorded.has(revisionKeyOf(e)));
}

export const toNdjson = (events: StripeMeterEvent[]) => events.map((e) => JSON.stringify(e) + "\n").join("");
