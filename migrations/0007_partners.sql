-- Partners (CONTRACT §7): grants that let a partner tenant call on behalf of a customer tenant,
-- and the `actor` (who made the call) and `payer` (who pays for it) dimensions of usage, with the
-- partner's earnings from its revenue share, exact in micro-units.
CREATE TABLE grants (
  id           TEXT PRIMARY KEY,
  partner      TEXT NOT NULL,
  customer     TEXT NOT NULL,
  surfaces     TEXT NOT NULL,            -- JSON array of surface ids, or "*"
  payer        TEXT NOT NULL CHECK (payer IN ('customer', 'partner')),
  share        TEXT,                     -- decimal fraction in [0, 1], only with payer 'customer'
  status       TEXT NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'revoked')),
  expires_at   TEXT,
  requested_by TEXT NOT NULL CHECK (requested_by IN ('admin', 'partner')),
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  revision     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX grants_customer ON grants (customer);
CREATE INDEX grants_partner ON grants (partner);

-- Rollups and refusals gain actor and payer in their key (a tenant's own calls: both = tenant).
CREATE TABLE usage_rollups_v7 (
  tenant        TEXT NOT NULL,
  surface       TEXT NOT NULL,
  granularity   TEXT NOT NULL CHECK (granularity IN ('hour', 'day', 'month')),
  period_start  TEXT NOT NULL,
  actor         TEXT NOT NULL,
  payer         TEXT NOT NULL,
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
  failed        INTEGER NOT NULL DEFAULT 0,
  unsettled     INTEGER NOT NULL DEFAULT 0,
  unreported    INTEGER NOT NULL DEFAULT 0,
  earnings      INTEGER NOT NULL DEFAULT 0,  -- the actor's (a partner's) share of `cost`, micro-units
  PRIMARY KEY (tenant, surface, granularity, period_start, actor, payer)
);
INSERT INTO usage_rollups_v7 (tenant, surface, granularity, period_start, actor, payer, requests, charged, rejected,
  early_retries, units, cost, savings, incentive_idempotency_key, incentive_batch, incentive_conditional, failed, unsettled, unreported)
SELECT tenant, surface, granularity, period_start, tenant, tenant, requests, charged, rejected, early_retries, units, cost,
  savings, incentive_idempotency_key, incentive_batch, incentive_conditional, failed, unsettled, unreported FROM usage_rollups;
DROP TABLE usage_rollups;
ALTER TABLE usage_rollups_v7 RENAME TO usage_rollups;
CREATE INDEX usage_rollups_period ON usage_rollups (granularity, period_start);
CREATE INDEX usage_rollups_payer ON usage_rollups (payer, granularity, period_start);
CREATE INDEX usage_rollups_actor ON usage_rollups (actor, granularity, period_start);

CREATE TABLE usage_refusals_v7 (
  tenant TEXT NOT NULL, surface TEXT NOT NULL, granularity TEXT NOT NULL, period_start TEXT NOT NULL,
  actor TEXT NOT NULL, payer TEXT NOT NULL, code TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, surface, granularity, period_start, actor, payer, code)
);
INSERT INTO usage_refusals_v7 SELECT tenant, surface, granularity, period_start, tenant, tenant, code, count FROM usage_refusals;
DROP TABLE usage_refusals;
ALTER TABLE usage_refusals_v7 RENAME TO usage_refusals;

-- Each push of a partner's state (plan, status, keys) into the limiters of the customers whose
-- grants name it is numbered, so a limiter never goes back to an older one.
ALTER TABLE tenants ADD COLUMN mirror_seq INTEGER NOT NULL DEFAULT 0;
