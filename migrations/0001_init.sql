-- Catalog versions (CONTRACT §2): one row per distinct catalog; `digest` lets an identical
-- catalog keep its version.
CREATE TABLE catalog_versions (
  version    INTEGER PRIMARY KEY,
  digest     TEXT NOT NULL,
  body       TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE tenants (
  id         TEXT PRIMARY KEY,
  name       TEXT,
  kind       TEXT NOT NULL CHECK (kind IN ('customer', 'partner')),
  plan       TEXT NOT NULL,
  addons     TEXT NOT NULL DEFAULT '[]',
  overrides  TEXT NOT NULL DEFAULT '{}',
  status     TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
  billing    TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT
);
CREATE INDEX tenants_live ON tenants (deleted_at, id);

-- API keys are stored only as SHA-256 hex digests (CONTRACT §3).
CREATE TABLE api_keys (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants (id),
  hash       TEXT NOT NULL UNIQUE,
  prefix     TEXT NOT NULL,
  name       TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
