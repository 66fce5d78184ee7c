-- Corrections of exported hours (CONTRACT §11): late units — reported after the fact, or counted in
-- an hour after it was exported — change an hour whose meter event the export ledger holds. The
-- next export sends the difference as another meter event of the same event name and customer,
-- under the original identifier + `-r<revision>` (Stripe sums meter events), and records it here:
-- one row per revision, keyed by the ledger row's key and the revision, with the value sent. The
-- hour's events then sum to Σ export_ledger.value + Σ export_corrections.value, and `again=true`
-- re-sends each revision with its identifier. The primary key makes two exports at once record a
-- revision once: the one that did not record it does not send it.
CREATE TABLE export_corrections (
  payer       TEXT NOT NULL,
  surface     TEXT NOT NULL,
  hour        TEXT NOT NULL,             -- the hour's ISO start, as export_ledger.hour
  value_kind  TEXT NOT NULL,             -- units | cost
  revision    INTEGER NOT NULL,          -- 1, 2, … (the original event is revision 0, in export_ledger)
  value       INTEGER NOT NULL,          -- the difference sent (> 0): units, or cost in micro-units
  identifier  TEXT NOT NULL UNIQUE,      -- the original's identifier + '-r' || revision
  event_name  TEXT NOT NULL,             -- the original's
  customer    TEXT NOT NULL,             -- the original's Stripe customer id
  exported_at INTEGER NOT NULL,          -- ms since the epoch
  PRIMARY KEY (payer, surface, hour, value_kind, revision)
);
CREATE INDEX export_corrections_hour ON export_corrections (value_kind, hour);
