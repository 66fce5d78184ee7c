-- Admin tokens (CONTRACT §9): named bearer tokens for the admin API besides the root ADMIN_TOKEN.
-- Stored only as SHA-256 hex digests; `scopes` is a JSON array such as ["read","write"].
CREATE TABLE admin_tokens (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  hash       TEXT NOT NULL UNIQUE,
  prefix     TEXT NOT NULL,
  scopes     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
-- A name is the audit log's actor, so it is unique among live tokens; D1 decides racing creates.
-- A revoked token's name may be used again.
CREATE UNIQUE INDEX admin_tokens_live_name ON admin_tokens (name) WHERE revoked_at IS NULL;
