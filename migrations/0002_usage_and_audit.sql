-- Usage rollups (CONTRACT §5): one row per tenant × surface × granularity × period, written only
-- by the tenants' limiters when they flush usage events. Money in integer micro-units.
CREATE TABLE usage_rollups (
  tenant        TEXT NOT NULL,
  surface       TEXT NOT NULL,
  granularity   TEXT NOT NULL CHECK (granularity IN ('hour', 'day', 'month')),
  period_start  TEXT NOT NULL, -- ISO-8601 UTC, e.g. 2026-11-24T00:00:00.000Z
  requests      INTEGER NOT NULL DEFAULT 0,
  charged       INTEGER NOT NULL DEFAULT 0,
  rejected      INTEGER NOT NULL DEFAULT 0,
  early_retries INTEGER NOT NULL DEFAULT 0,
  units         INTEGER NOT NULL DEFAULT 0,
  cost          INTEGER NOT NULL DEFAULT 0,
  savings       INTEGER NOT NULL DEFAULT 0,
  incentive_idempotency_key INTEGER NOT NULL DEFAULT 0,
  incentive_batch           INTEGER NOT NULL DEFAULT 0,
  incentive_conditional     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, surface, granularity, period_start)
);
CREATE INDEX usage_rollups_period ON usage_rollups (granularity, period_start);

-- The last usage-event sequence number of each tenant's limiter that is in the rollups. A flush
-- applies only if it starts where the previous one ended, so a repeated flush counts nothing twice.
CREATE TABLE usage_watermarks (
  tenant      TEXT PRIMARY KEY,
  flushed_seq INTEGER NOT NULL
);

-- Every admin mutation (append-only: the triggers refuse updates and deletes).
CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      TEXT NOT NULL,
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  target  TEXT NOT NULL,
  before  TEXT,
  after   TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
