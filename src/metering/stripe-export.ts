// Usage as Stripe Billing meter events (CONTRACT §10): one event per payer × surface × closed hour
// that cost something, from the hour rollups, with an identifier derived only from (payer,
// surface, hour, value kind) — a re-sent hour is deduplicated by Stripe, and a units meter and a
// cost meter never collide. Stripe remembers identifiers for about a day, so the gateway keeps its
// own ledger of what it handed out (D1 `export_ledger`): a later export skips those hours, and
// `again` re-sends the ledgered events unchanged. The ledger keeps the value kind and the value
// sent, which is what a correction of a late-changed hour needs (CONTRACT §11).
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

/** One exported (or to be exported) meter event, as the ledger keeps it. */
export interface LedgerEntry {
  payer: string;
  surface: string;
  hour: string; // ISO start
  kind: ExportValue;
  value: number;
  identifier: string;
  eventName: string;
  customer: string;
}

export const keyOf = (e: { payer: string; surface: string; hour: string }) => `${e.payer}\u0000${e.surface}\u0000${e.hour}`;

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

export interface ExportPlan {
  /** Events not in the ledger yet: to record, then send. */
  fresh: LedgerEntry[];
  /** Ledgered events sent again unchanged (`again`). */
  resend: LedgerEntry[];
  /** Hours with usage to send that Stripe no longer accepts. */
  tooOld: string[];
  /** Payers with usage to send but no `billing.stripeCustomerId`. */
  skippedTenants: string[];
}

/**
 * Pure: which events an export at `now` sends. `rows` are the hour rows of the range, `ledger` the
 * range's ledgered entries of this value kind, `customers` payer → Stripe customer id. An hour is
 * sent once it has ended, if it cost something, and if it started within Stripe's window.
 */
export async function planExport(
  rows: RollupRow[],
  ledger: LedgerEntry[],
  customers: Map<string, string>,
  options: { kind: ExportValue; again: boolean; now: number },
): Promise<ExportPlan> {
  const oldest = oldestExportableHour(options.now);
  const ledgered = new Map(ledger.map((e) => [keyOf(e), e]));
  const tooOld = new Set<string>();
  const skipped = new Set<string>();
  const fresh: LedgerEntry[] = [];
  for (const line of billedHours(rows)) {
    const start = Date.parse(line.hour);
    if (line.cost <= 0 || start + HOUR_MS > options.now || ledgered.has(keyOf(line))) continue;
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
      ...line,
      kind: options.kind,
      value: options.kind === "cost" ? line.cost : line.units,
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
  return { fresh, resend: resend.sort(byHourPayerSurface), tooOld: [...tooOld].sort(), skippedTenants: [...skipped].sort() };
}

interface LedgerRow {
  payer: string;
  surface: string;
  hour: string;
  value_kind: ExportValue;
  value: number;
  identifier: string;
  event_name: string;
  customer: string;
}

/** The ledgered entries of `kind` whose hour starts in [from, to). */
export async function readLedger(db: D1Database, kind: ExportValue, from: string, to: string): Promise<LedgerEntry[]> {
  const { results } = await db
    .prepare("SELECT payer, surface, hour, value_kind, value, identifier, event_name, customer FROM export_ledger WHERE value_kind = ? AND hour >= ? AND hour < ? ORDER BY hour, payer, surface")
    .bind(kind, from, to)
    .all<LedgerRow>();
  return results.map((r) => ({ payer: r.payer, surface: r.surface, hour: r.hour, kind: r.value_kind, value: r.value, identifier: r.identifier, eventName: r.event_name, customer: r.customer }));
}

const field = (name: string) => `json_extract(value, '$.${name}')`;

/**
 * Records `entries` in the ledger and answers those this call recorded: an entry another export
 * recorded first (two exports at once) is theirs to send, so no event leaves twice.
 */
export async function recordExport(db: D1Database, entries: LedgerEntry[], now: number): Promise<LedgerEntry[]> {
  const recorded = new Set<string>();
  for (let i = 0; i < entries.length; i += LEDGER_CHUNK) {
    const chunk = entries.slice(i, i + LEDGER_CHUNK).map((e) => ({ p: e.payer, s: e.surface, h: e.hour, k: e.kind, v: e.value, i: e.identifier, n: e.eventName, c: e.customer }));
    const { results } = await db
      .prepare(
        `INSERT INTO export_ledger (payer, surface, hour, value_kind, value, identifier, event_name, customer, exported_at)
         SELECT ${field("p")}, ${field("s")}, ${field("h")}, ${field("k")}, ${field("v")}, ${field("i")}, ${field("n")}, ${field("c")}, ?
         FROM json_each(?) WHERE true
         ON CONFLICT DO NOTHING
         RETURNING payer, surface, hour`,
      )
      .bind(now, JSON.stringify(chunk))
      .all<{ payer: string; surface: string; hour: string }>();
    for (const r of results) recorded.add(keyOf(r));
  }
  return entries.filter((e) => recorded.has(keyOf(e)));
}

export const toNdjson = (events: StripeMeterEvent[]) => events.map((e) => JSON.stringify(e) + "\n").join("");
