// The limiter's SQLite tables, created in the constructor, and the in-object migrations that bring
// an older object up to date (its `meta.schema_version`). Migrations are only ever appended.
import { ALERTS_SCHEMA } from "./alerts";
import { IDEMPOTENCY_SCHEMA } from "./idempotency";

const V1 = `
CREATE TABLE IF NOT EXISTS tenant (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (id TEXT PRIMARY KEY, expires_at INTEGER, revoked_at INTEGER);
CREATE TABLE IF NOT EXISTS buckets (surface TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS quotas (
  surface TEXT NOT NULL, period_start INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0, reserved INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (surface, period_start));
CREATE TABLE IF NOT EXISTS admissions (
  id TEXT PRIMARY KEY, surface TEXT NOT NULL, request_id TEXT NOT NULL, policy TEXT NOT NULL,
  period_start INTEGER, reserved INTEGER NOT NULL, admitted_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, slot_open INTEGER NOT NULL DEFAULT 1, settlement TEXT,
  catalog_version INTEGER NOT NULL, idempotency_key TEXT);
CREATE INDEX IF NOT EXISTS admissions_expiry ON admissions (expires_at);
CREATE INDEX IF NOT EXISTS admissions_open ON admissions (surface, slot_open);
CREATE TABLE IF NOT EXISTS retry_after (surface TEXT PRIMARY KEY, until INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS usage_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, request_id TEXT NOT NULL,
  surface TEXT, status INTEGER NOT NULL, outcome TEXT NOT NULL, reason TEXT,
  early_retry INTEGER NOT NULL DEFAULT 0, units INTEGER NOT NULL DEFAULT 0,
  cost INTEGER NOT NULL DEFAULT 0, savings INTEGER NOT NULL DEFAULT 0, incentives TEXT,
  catalog_version INTEGER);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
${IDEMPOTENCY_SCHEMA}`;

/** Each entry moves the schema one version up. */
const MIGRATIONS: string[] = [
  // v2 (issue 8): admissions settle by the rules of CONTRACT §6; refusals before admission are
  // recorded in aggregate (`weight` requests per event).
  `ALTER TABLE admissions ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
   ALTER TABLE admissions ADD COLUMN units INTEGER;
   ALTER TABLE admissions ADD COLUMN provisional TEXT;
   ALTER TABLE usage_events ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;`,
  // v3 (issue 15): a held admission keeps its quota position, so the limiter prices it as the
  // Worker did; refunds of charged admissions are remembered so a retried refund counts once.
  `ALTER TABLE admissions ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE IF NOT EXISTS refunds (request_id TEXT PRIMARY KEY, at INTEGER NOT NULL);`,
  // v4 (issue 15): leases of permits held by Worker isolates (CONTRACT §6).
  `CREATE TABLE IF NOT EXISTS leases (
     id TEXT PRIMARY KEY, surface TEXT NOT NULL, period_start INTEGER, permits INTEGER NOT NULL,
     units INTEGER NOT NULL, granted_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
     state TEXT NOT NULL DEFAULT 'open', catalog_version INTEGER NOT NULL);
   CREATE INDEX IF NOT EXISTS leases_open ON leases (state, expires_at);`,
  // v5 (issue 15): flushed usage events are compacted into hourly aggregates, kept
  // USAGE_EVENT_DAYS, so storage does not grow with traffic (CONTRACT §6).
  `CREATE TABLE IF NOT EXISTS usage_history (
     hour INTEGER NOT NULL, surface TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL,
     status INTEGER NOT NULL, early_retry INTEGER NOT NULL, incentives TEXT NOT NULL,
     catalog_version INTEGER NOT NULL, requests INTEGER NOT NULL, units INTEGER NOT NULL,
     cost INTEGER NOT NULL, savings INTEGER NOT NULL,
     PRIMARY KEY (hour, surface, outcome, reason, status, early_retry, incentives, catalog_version));`,
  // v6 (issue 11): delegated calls. The grants naming this tenant as customer and the partners
  // they name; who made each call (actor), who pays (payer) and the actor's share of it.
  `CREATE TABLE IF NOT EXISTS grants (id TEXT PRIMARY KEY, body TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS partners (id TEXT PRIMARY KEY, body TEXT NOT NULL);
   ALTER TABLE usage_events ADD COLUMN actor TEXT;
   ALTER TABLE usage_events ADD COLUMN payer TEXT;
   ALTER TABLE usage_events ADD COLUMN share_ppm INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE admissions ADD COLUMN attribution TEXT;
   CREATE TABLE usage_history_v6 (
     hour INTEGER NOT NULL, surface TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL,
     status INTEGER NOT NULL, early_retry INTEGER NOT NULL, incentives TEXT NOT NULL,
     catalog_version INTEGER NOT NULL, actor TEXT NOT NULL, payer TEXT NOT NULL, share_ppm INTEGER NOT NULL,
     requests INTEGER NOT NULL, units INTEGER NOT NULL, cost INTEGER NOT NULL, savings INTEGER NOT NULL,
     PRIMARY KEY (hour, surface, outcome, reason, status, early_retry, incentives, catalog_version, actor, payer, share_ppm));
   INSERT INTO usage_history_v6 SELECT hour, surface, outcome, reason, status, early_retry, incentives, catalog_version, '', '', 0, requests, units, cost, savings FROM usage_history;
   DROP TABLE usage_history;
   ALTER TABLE usage_history_v6 RENAME TO usage_history;`,
  // v7 (issue 12): what a request signalled (unsafe method, Idempotency-Key, conditional), for
  // advice and catalog simulation; kept on a held admission until it is settled.
  `ALTER TABLE usage_events ADD COLUMN signals INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE admissions ADD COLUMN signals INTEGER NOT NULL DEFAULT 0;`,
  // v8 (issue 12): the limits a shadow rule would have refused a forwarded request for.
  `ALTER TABLE usage_events ADD COLUMN shadow TEXT;
   ALTER TABLE admissions ADD COLUMN shadow TEXT;`,
  // v9 (issue 12): the outbox of governance events (quota thresholds, exhaustion, sunset calls).
  ALERTS_SCHEMA,
  // v10 (issue 14): ids of accepted outcome reports, kept LATE_USAGE_DAYS so a repeat counts once.
  `CREATE TABLE IF NOT EXISTS reports_seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL);`,
  // v11 (issue 14): a reported outcome's originating request, carried to usage_requests for CloudEvents.
  `ALTER TABLE usage_events ADD COLUMN origin TEXT;`,
];

export function migrate(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  storage.transactionSync(() => {
    sql.exec(V1);
    const version = sql.exec<{ value: number }>("SELECT value FROM meta WHERE name = 'schema_version'").toArray()[0]?.value ?? 1;
    for (let v = version; v <= MIGRATIONS.length; v++) sql.exec(MIGRATIONS[v - 1]!);
    sql.exec("INSERT INTO meta (name, value) VALUES ('schema_version', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", MIGRATIONS.length + 1);
  });
}
