-- Per-request usage (issue 12): one row per request the limiters recorded, written by the same
-- watermark-guarded flush as the rollups (so exactly once), kept REQUEST_RETENTION_DAYS. It is what
-- CloudEvents export, catalog simulation, advice and the callers of a surface read. Requests
-- served from a lease, and refusals before admission, are counted in the rollups only.
CREATE TABLE usage_requests (
  tenant      TEXT NOT NULL,
  request_id  TEXT NOT NULL,
  at          INTEGER NOT NULL,           -- ms since the epoch, when it was admitted or refused
  surface     TEXT NOT NULL,
  actor       TEXT NOT NULL,
  payer       TEXT NOT NULL,
  outcome     TEXT NOT NULL,              -- charged | unsettled | rejected | failed | replayed
  status      INTEGER NOT NULL,
  reason      TEXT,                       -- the problem code of a refusal
  units       INTEGER NOT NULL DEFAULT 0,
  cost        INTEGER NOT NULL DEFAULT 0, -- micro-units
  savings     INTEGER NOT NULL DEFAULT 0,
  incentives  TEXT,                       -- JSON array, or null
  signals     INTEGER NOT NULL DEFAULT 0, -- 1 unsafe method, 2 Idempotency-Key, 4 conditional
  catalog_version INTEGER,
  PRIMARY KEY (tenant, request_id)
);
CREATE INDEX usage_requests_at ON usage_requests (at);
CREATE INDEX usage_requests_surface ON usage_requests (surface, at);
