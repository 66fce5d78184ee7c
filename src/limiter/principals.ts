// Who may call through this limiter (CONTRACT §3.1, §4, §7): the tenant's status, its keys, the
// grants naming it as customer and the partners they name. Held in memory, rebuilt from SQLite
// when the object starts; every admin write goes through the object, so memory and storage move
// together and a revocation, suspension or deletion bites on the very next request.
import type { GrantState, PartnerState, RefusalCode, TenantState, TenantWrite } from "./protocol";

export interface KeyState {
  expiresAt: number | null;
  revokedAt: number | null;
}

export class Principals {
  tenant: TenantState | null = null;
  readonly keys = new Map<string, KeyState>();
  readonly grants = new Map<string, GrantState>();
  readonly partners = new Map<string, PartnerState>();

  constructor(private readonly sql: SqlStorage) {
    const row = sql.exec<{ body: string }>("SELECT body FROM tenant").toArray()[0];
    this.tenant = row ? { revision: 0, ...(JSON.parse(row.body) as Omit<TenantState, "revision">) } : null;
    for (const k of sql.exec<{ id: string; expires_at: number | null; revoked_at: number | null }>("SELECT * FROM keys")) {
      this.keys.set(k.id, { expiresAt: k.expires_at, revokedAt: k.revoked_at });
    }
    for (const g of sql.exec<{ body: string }>("SELECT body FROM grants")) {
      const grant = JSON.parse(g.body) as GrantState;
      this.grants.set(grant.id, grant);
    }
    for (const p of sql.exec<{ body: string }>("SELECT body FROM partners")) {
      const partner = JSON.parse(p.body) as PartnerState;
      this.partners.set(partner.id, partner);
    }
  }

  /** A deleted tenant stays deleted, and an older revision never replaces a newer one. */
  /** `ifNotAfter`: refuse (applied false) when a revision newer than it already reached the object (a conditional DELETE). */
  putTenant(state: TenantState, ifNotAfter?: number): TenantWrite {
    const current = this.tenant;
    if (current?.deleted) return { applied: false, deleted: true };
    if (current && current.revision > state.revision) return { applied: false, deleted: false };
    if (current && ifNotAfter !== undefined && current.revision > ifNotAfter) return { applied: false, deleted: false };
    this.sql.exec(
      "INSERT INTO tenant (singleton, body) VALUES (1, ?) ON CONFLICT (singleton) DO UPDATE SET body = excluded.body",
      JSON.stringify(state),
    );
    this.tenant = state;
    return { applied: true, deleted: state.deleted };
  }

  /** A grant naming this tenant as customer; an older revision never replaces a newer one, and a revocation is final. */
  putGrant(grant: GrantState): boolean {
    const current = this.grants.get(grant.id);
    // A revoked grant is final here: no PATCH racing the revocation brings it back.
    if (current?.status === "revoked") return false;
    if (current && current.revision > grant.revision) return false;
    this.sql.exec("INSERT INTO grants (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body", grant.id, JSON.stringify(grant));
    this.grants.set(grant.id, grant);
    return true;
  }

  /** A partner a grant names (its plan, status and keys); an older push never replaces a newer one. */
  putPartner(partner: PartnerState): boolean {
    const current = this.partners.get(partner.id);
    if (current && current.seq > partner.seq) return false;
    this.sql.exec("INSERT INTO partners (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body", partner.id, JSON.stringify(partner));
    this.partners.set(partner.id, partner);
    return true;
  }

  /** False when the tenant is unknown or deleted: no key is added to it. */
  putKey(keyId: string, expiresAt: number | null): boolean {
    if (!this.tenant || this.tenant.deleted) return false;
    this.sql.exec("INSERT OR REPLACE INTO keys (id, expires_at, revoked_at) VALUES (?, ?, NULL)", keyId, expiresAt);
    this.keys.set(keyId, { expiresAt, revokedAt: null });
    return true;
  }

  revokeKey(keyId: string, now: number): void {
    this.sql.exec("UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, keyId);
    const key = this.keys.get(keyId);
    if (key && key.revokedAt === null) key.revokedAt = now;
  }

  /** The strong check of a key and its tenant (CONTRACT §3.1, §4): null when they may proceed. */
  check(keyId: string, now: number): { code: RefusalCode; detail: string } | null {
    const tenant = this.tenant;
    if (!tenant) return { code: "unauthenticated", detail: "Unknown API key." };
    const key = this.keys.get(keyId);
    if (tenant.deleted || !key || key.revokedAt !== null) return { code: "key-revoked", detail: "This API key has been revoked." };
    if (key.expiresAt !== null && key.expiresAt <= now) return { code: "key-revoked", detail: "This API key has expired." };
    if (tenant.status === "suspended") return { code: "tenant-suspended", detail: `Tenant "${tenant.id}" is suspended.` };
    return null;
  }
}
