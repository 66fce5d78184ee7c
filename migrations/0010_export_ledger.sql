-- The Stripe export ledger (CONTRACT §10): one row per meter event the gateway has handed out —
-- payer × surface × closed hour × value kind — with the exact event (customer, event name, value,
-- identifier), so a later export skips what was sent (Stripe deduplicates only for about a day)
-- and `again=true` re-sends the same events. Kept per value kind: a units meter and a cost meter
-- are exported independently.
--
-- Corrections (CONTRACT §11, a later migration): late units that change an exported hour are sent
-- as the difference between the hour's value now and `value` (plus any corrections already sent),
-- under `identifier` with a revision number; those revisions get their own table keyed by this
-- one's key and the revision, so this row stays the original event and `again` can re-send each.
CREATE TABLE export_ledger (
  payer       TEXT NOT NULL,             -- the tenant billed
  surface     TEXT NOT NULL,
  hour        TEXT NOT NULL,             -- the hour's ISO start, as usage_rollups.period_start
  value_kind  TEXT NOT NULL,             -- units | cost
  value       INTEGER NOT NULL,          -- the value sent: units, or cost in micro-units
  identifier  TEXT NOT NULL UNIQUE,      -- the event's Stripe identifier
  event_name  TEXT NOT NULL,
  customer    TEXT NOT NULL,             -- the Stripe customer id it was sent to
  exported_at INTEGER NOT NULL,          -- ms since the epoch
  PRIMARY KEY (payer, surface, hour, value_kind)
);
CREATE INDEX export_ledger_hour ON export_ledger (value_kind, hour);
