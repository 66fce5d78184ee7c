// Tenants and their keys in D1 (the record of truth), mirrored into the tenant's limiter so that
// every change takes effect on the very next request, and into KV for key lookups.
import { type Clock } from "../clock";
import type { TenantState } from "../limiter/protocol";
import { limiterOf } from "../limiter/stub";
import { problem } from "../problems";
import { generateKey, hashKey, keyCacheName } from "./keys";
import { patchedTerms } from "./merge-patch";
import { pushPartner } from "../partners/store";
import type { Tenant, TenantCreate, TenantPatch, TenantTerms } from "./schema";

interface TenantRow {
  id: string;
  name: string | null;
  kind: "customer" | "partner";
  plan: string;
  addons: string;
  overrides: string;
  status: "active" | "suspended";
  billing: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  revision: number;
}

interface KeyRow {
  id: string;
  tenant_id: string;
  hash: string;
  prefix: string;
  name: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface KeySummary {
  id: string;
  prefix: string;
  name: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

const tenantOf = (row: TenantRow): Tenant => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  plan: row.plan,
  addons: JSON.parse(row.addons) as string[],
  overrides: JSON.parse(row.overrides) as Tenant["overrides"],
  status: row.status,
  billing: row.billing === null ? null : (JSON.parse(row.billing) as Tenant["billing"]),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const keyOf = (row: KeyRow): KeySummary => ({
  id: row.id,
  prefix: row.prefix,
  name: row.name,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});

const stateOf = (t: Tenant, revision: number, deleted = false): TenantState => ({
  id: t.id,
  plan: t.plan,
  addons: t.addons,
  overrides: t.overrides,
  status: t.status,
  deleted,
  revision,
});

const gone = (id: string) => problem("not-found", { detail: `No tenant "${id}".` });

/** A tenant as read, with the revision its ETag names. */
export interface TenantRead {
  tenant: Tenant;
  revision: number;
}

/** Checks a write makes, given what the tenant is now (If-Match) and what it would become (catalog terms). */
export interface WriteChecks {
  current?: (read: TenantRead) => void;
  next?: (terms: TenantTerms, patch: TenantPatch) => void;
}

/** The tenant a merge patch produces, or invalid-request naming every issue. */
function patched(before: Tenant, patch: TenantPatch): TenantTerms {
  const result = patchedTerms(before, patch);
  if (!result.ok) throw problem("invalid-request", { detail: "The tenant the patch produces does not match the schema.", errors: result.errors });
  return result.terms;
}

/** Attempts of a merge patch without If-Match that loses a race to another write before it gives up. */
const PATCH_ATTEMPTS = 5;

export class TenantStore {
  constructor(
    private readonly env: Pick<Env, "DB" | "CACHE" | "LIMITER">,
    private readonly clock: Clock,
  ) {}

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  async get(id: string): Promise<Tenant> {
    return (await this.read(id)).tenant;
  }

  /** The tenant with its revision (what its ETag names). */
  async read(id: string): Promise<TenantRead> {
    const row = await this.env.DB.prepare("SELECT * FROM tenants WHERE id = ? AND deleted_at IS NULL").bind(id).first<TenantRow>();
    if (!row) throw gone(id);
    return { tenant: tenantOf(row), revision: row.revision };
  }

  /** Every tenant's catalog terms (not deleted), for the catalog's stranded-tenant check. */
  async allTerms(): Promise<{ id: string; plan: string; addons: string[]; overrides: Record<string, unknown> }[]> {
    const { results } = await this.env.DB.prepare("SELECT id, plan, addons, overrides FROM tenants WHERE deleted_at IS NULL ORDER BY id").all<Pick<TenantRow, "id" | "plan" | "addons" | "overrides">>();
    return results.map((r) => ({ id: r.id, plan: r.plan, addons: JSON.parse(r.addons) as string[], overrides: JSON.parse(r.overrides) as Record<string, unknown> }));
  }

  /** A page of tenants by id; `search` keeps those whose id or name contains it (case-insensitive). */
  async list(limit: number, cursor: string | undefined, search?: string): Promise<{ items: Tenant[]; cursor?: string }> {
    const pattern = search ? `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    const { results } = await this.env.DB.prepare(
      `SELECT * FROM tenants WHERE deleted_at IS NULL AND id > ?${pattern ? " AND (lower(id) LIKE ? ESCAPE '\\' OR lower(COALESCE(name, '')) LIKE ? ESCAPE '\\')" : ""} ORDER BY id LIMIT ?`,
    )
      .bind(...(pattern ? [cursor ?? "", pattern, pattern] : [cursor ?? ""]), limit + 1)
      .all<TenantRow>();
    const items = results.slice(0, limit).map(tenantOf);
    return results.length > limit ? { items, cursor: items.at(-1)!.id } : { items };
  }

  /**
   * D1 first: its primary key decides a race between two creates of one id, so only the winner
   * reaches the limiter. If the limiter cannot take the state, the row is removed again.
   */
  async create(input: TenantCreate): Promise<Tenant> {
    const now = this.nowIso();
    const tenant: Tenant = {
      id: input.id,
      name: input.name ?? null,
      kind: input.kind,
      plan: input.plan,
      addons: input.addons,
      overrides: input.overrides,
      status: input.status,
      billing: input.billing ?? null,
      createdAt: now,
      updatedAt: now,
    };
    const inserted = await this.env.DB.prepare(
      "INSERT INTO tenants (id, name, kind, plan, addons, overrides, status, billing, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    )
      .bind(tenant.id, tenant.name, tenant.kind, tenant.plan, JSON.stringify(tenant.addons), JSON.stringify(tenant.overrides), tenant.status, tenant.billing ? JSON.stringify(tenant.billing) : null, now, now)
      .run();
    if (inserted.meta.changes === 0) throw problem("conflict", { detail: `Tenant "${input.id}" already exists (tenant ids are never reused).` });
    try {
      await limiterOf(this.env, tenant.id).putTenant(stateOf(tenant, 0));
    } catch (error) {
      await this.env.DB.prepare("DELETE FROM tenants WHERE id = ? AND created_at = ?").bind(tenant.id, now).run();
      throw error;
    }
    return tenant;
  }

  /**
   * Applies a merge patch. The D1 write is conditional on the revision that was read, so two
   * writers never overwrite each other: with `If-Match` the loser gets 412; without, the patch is
   * re-applied to what the winner wrote.
   */
  async update(id: string, patch: TenantPatch, checks: WriteChecks = {}): Promise<{ before: Tenant; after: Tenant; revision: number }> {
    for (let attempt = 1; ; attempt++) {
      const read = await this.read(id);
      checks.current?.(read);
      const before = read.tenant;
      const terms = patched(before, patch);
      checks.next?.(terms, patch);
      const after: Tenant = { ...before, ...terms, updatedAt: this.nowIso() };
      // A deleted tenant is never written again: D1 refuses the row once `deleted_at` is set, and
      // the limiter refuses the state once it knows of the deletion, whichever comes first.
      const written = await this.env.DB.prepare(
        "UPDATE tenants SET name = ?, plan = ?, addons = ?, overrides = ?, status = ?, billing = ?, updated_at = ?, revision = revision + 1 WHERE id = ? AND deleted_at IS NULL AND revision = ? RETURNING revision",
      )
        .bind(after.name, after.plan, JSON.stringify(after.addons), JSON.stringify(after.overrides), after.status, after.billing ? JSON.stringify(after.billing) : null, after.updatedAt, id, read.revision)
        .first<{ revision: number }>();
      if (!written) {
        if (attempt >= PATCH_ATTEMPTS) throw problem("conflict", { detail: `Tenant "${id}" kept changing while this patch was applied; try again.` });
        continue; // deleted (read() answers 404) or written by another (re-read; If-Match answers 412)
      }
      const pushed = await limiterOf(this.env, id).putTenant(stateOf(after, written.revision));
      if (pushed.deleted) throw gone(id);
      // A partner's plan and status travel to the limiters of the customers its grants name (CONTRACT §7).
      if (after.kind === "partner") await pushPartner(this.env, id);
      return { before, after, revision: written.revision };
    }
  }

  /**
   * Deletion is final (issue 8): the limiter learns it first, so every key answers `key-revoked`
   * from the next request on and no racing PATCH can bring the tenant back; then D1. If the D1
   * write fails the tenant is already dead to traffic, and a repeated DELETE completes it. Usage stays.
   */
  async delete(id: string, checks: Pick<WriteChecks, "current"> = {}, expectRevision?: number): Promise<Tenant> {
    const read = await this.read(id);
    checks.current?.(read);
    const tenant = read.tenant;
    const now = this.nowIso();
    // With If-Match the limiter refuses too when a newer revision already reached it (a PATCH
    // whose D1 write this read missed), so a conditional DELETE never deletes a tenant it did not see.
    const pushed = await limiterOf(this.env, id).putTenant(stateOf(tenant, Number.MAX_SAFE_INTEGER, true), expectRevision);
    if (!pushed.applied && !pushed.deleted) throw problem("precondition-failed", { detail: `Tenant "${id}" changed since it was read. Read it again.` });
    const [deleted] = await this.env.DB.batch([
      this.env.DB.prepare("UPDATE tenants SET deleted_at = ?, updated_at = ?, revision = revision + 1 WHERE id = ? AND deleted_at IS NULL").bind(now, now, id),
      this.env.DB.prepare("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ?").bind(now, id),
    ]);
    if ((deleted?.meta.changes ?? 0) === 0) throw gone(id); // a concurrent DELETE answered first
    if (tenant.kind === "partner") await pushPartner(this.env, id);
    return tenant;
  }

  async createKey(tenantId: string, input: { name?: string | undefined; expiresAt?: string | undefined }): Promise<KeySummary & { key: string }> {
    const owner = await this.get(tenantId);
    const { key, prefix } = generateKey();
    const hash = await hashKey(key);
    const row: KeyRow = {
      id: `key_${crypto.randomUUID().replaceAll("-", "")}`,
      tenant_id: tenantId,
      hash,
      prefix,
      name: input.name ?? null,
      created_at: this.nowIso(),
      expires_at: input.expiresAt ?? null,
      revoked_at: null,
    };
    if (!(await limiterOf(this.env, tenantId).putKey(row.id, row.expires_at === null ? null : Date.parse(row.expires_at)))) throw gone(tenantId);
    await this.env.DB.prepare("INSERT INTO api_keys (id, tenant_id, hash, prefix, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .bind(row.id, row.tenant_id, row.hash, row.prefix, row.name, row.created_at, row.expires_at)
      .run();
    await this.env.CACHE.put(keyCacheName(hash), JSON.stringify({ tenantId, keyId: row.id }));
    if (owner.kind === "partner") await pushPartner(this.env, tenantId); // a partner's new key works on behalf of its customers too
    return { ...keyOf(row), key };
  }

  async listKeys(tenantId: string): Promise<KeySummary[]> {
    await this.get(tenantId);
    const { results } = await this.env.DB.prepare("SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id").bind(tenantId).all<KeyRow>();
    return results.map(keyOf);
  }

  async revokeKey(tenantId: string, keyId: string): Promise<{ before: KeySummary; after: KeySummary }> {
    const owner = await this.get(tenantId);
    const row = await this.env.DB.prepare("SELECT * FROM api_keys WHERE id = ? AND tenant_id = ?").bind(keyId, tenantId).first<KeyRow>();
    if (!row) throw problem("not-found", { detail: `Tenant "${tenantId}" has no key "${keyId}".` });
    await limiterOf(this.env, tenantId).revokeKey(keyId);
    const revokedAt = row.revoked_at ?? this.nowIso();
    await this.env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(revokedAt, keyId).run();
    if (owner.kind === "partner") await pushPartner(this.env, tenantId); // revoked on behalf of its customers too, from the next call
    return { before: keyOf(row), after: { ...keyOf(row), revokedAt } };
  }
}
