// Grants in D1 (the record of truth), mirrored into the customer's limiter, which checks every
// delegated call against them with no D1 read on the request path (CONTRACT §7). The customer's
// limiter also holds a copy of each partner its grants name (plan, status, keys), pushed again
// whenever the partner changes, so a partner's revoked key or suspension bites on its next call.
import type { Clock } from "../clock";
import type { GrantState, PartnerState } from "../limiter/protocol";
import { limiterOf } from "../limiter/stub";
import { problem } from "../problems";
import { mergePatch } from "../tenants/merge-patch";
import { Grant, GrantPatch, sharePpm, type GrantCreate } from "./schema";
import { issuesOf } from "../catalog/schema";

interface GrantRow {
  id: string;
  partner: string;
  customer: string;
  surfaces: string;
  payer: "customer" | "partner";
  share: string | null;
  status: Grant["status"];
  expires_at: string | null;
  requested_by: "admin" | "partner";
  created_at: string;
  updated_at: string;
  revision: number;
}

export interface GrantRead {
  grant: Grant;
  revision: number;
}

const grantOf = (r: GrantRow): Grant => ({
  id: r.id,
  partner: r.partner,
  customer: r.customer,
  surfaces: JSON.parse(r.surfaces) as Grant["surfaces"],
  payer: r.payer,
  share: r.share,
  status: r.status,
  expiresAt: r.expires_at,
  requestedBy: r.requested_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const grantStateOf = (g: Grant, revision: number): GrantState => ({
  id: g.id,
  partner: g.partner,
  surfaces: g.surfaces,
  payer: g.payer,
  sharePpm: g.payer === "customer" ? sharePpm(g.share) : 0,
  status: g.status,
  expiresAt: g.expiresAt === null ? null : Date.parse(g.expiresAt),
  revision,
});

const gone = (id: string) => problem("not-found", { detail: `No grant "${id}".` });

/** Only a payer-customer grant carries a share: what a customer pays is what a partner can share in. */
function checkShare(g: { payer: string; share?: string | null | undefined }): void {
  if (g.payer === "partner" && g.share !== undefined && g.share !== null && sharePpm(g.share) !== 0) {
    throw problem("invalid-request", { detail: "A share is the partner's part of what the customer pays: it needs payer \"customer\".", errors: [{ path: "/share", message: 'only with payer "customer"' }] });
  }
}

export class GrantStore {
  constructor(
    private readonly env: Pick<Env, "DB" | "LIMITER">,
    private readonly clock: Clock,
  ) {}

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  async read(id: string): Promise<GrantRead> {
    const row = await this.env.DB.prepare("SELECT * FROM grants WHERE id = ?").bind(id).first<GrantRow>();
    if (!row) throw gone(id);
    return { grant: grantOf(row), revision: row.revision };
  }

  async list(filter: { partner?: string | undefined; customer?: string | undefined; status?: string | undefined; either?: string | undefined }): Promise<Grant[]> {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.partner !== undefined) (where.push("partner = ?"), args.push(filter.partner));
    if (filter.customer !== undefined) (where.push("customer = ?"), args.push(filter.customer));
    if (filter.status !== undefined) (where.push("status = ?"), args.push(filter.status));
    if (filter.either !== undefined) (where.push("(partner = ? OR customer = ?)"), args.push(filter.either, filter.either));
    const { results } = await this.env.DB.prepare(`SELECT * FROM grants${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at, id LIMIT 1000`)
      .bind(...args)
      .all<GrantRow>();
    return results.map(grantOf);
  }

  /** The two tenants must exist (not deleted): the partner with kind "partner", the customer another tenant. */
  private async checkParties(partner: string, customer: string): Promise<void> {
    if (partner === customer) throw problem("invalid-request", { detail: "A tenant cannot be granted access to itself.", errors: [{ path: "/customer", message: "same as partner" }] });
    const { results } = await this.env.DB.prepare("SELECT id, kind FROM tenants WHERE id IN (?, ?) AND deleted_at IS NULL").bind(partner, customer).all<{ id: string; kind: string }>();
    const kinds = new Map(results.map((r) => [r.id, r.kind]));
    const errors = [];
    if (!kinds.has(partner)) errors.push({ path: "/partner", message: `no tenant "${partner}"` });
    else if (kinds.get(partner) !== "partner") errors.push({ path: "/partner", message: `tenant "${partner}" has kind "${kinds.get(partner)}", not "partner"` });
    if (!kinds.has(customer)) errors.push({ path: "/customer", message: `no tenant "${customer}"` });
    if (errors.length > 0) throw problem("invalid-request", { detail: "The grant names tenants that cannot take part in it.", errors });
  }

  /** A new grant: `active` when the admin makes it, `pending` when the partner asks. */
  async create(input: GrantCreate, requestedBy: "admin" | "partner"): Promise<GrantRead> {
    checkShare(input);
    await this.checkParties(input.partner, input.customer);
    const now = this.nowIso();
    const grant: Grant = {
      id: `grt_${crypto.randomUUID().replaceAll("-", "")}`,
      partner: input.partner,
      customer: input.customer,
      surfaces: input.surfaces,
      payer: input.payer,
      share: input.payer === "customer" && input.share !== undefined ? input.share : null,
      status: requestedBy === "admin" ? "active" : "pending",
      expiresAt: input.expiresAt === undefined ? null : new Date(input.expiresAt).toISOString(),
      requestedBy,
      createdAt: now,
      updatedAt: now,
    };
    await this.env.DB.prepare(
      "INSERT INTO grants (id, partner, customer, surfaces, payer, share, status, expires_at, requested_by, created_at, updated_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
    )
      .bind(grant.id, grant.partner, grant.customer, JSON.stringify(grant.surfaces), grant.payer, grant.share, grant.status, grant.expiresAt, requestedBy, now, now)
      .run();
    await this.push(grant, 0);
    return { grant, revision: 0 };
  }

  /**
   * A merge patch of the grant, conditional on the revision read (so two writers never overwrite
   * each other; with `current` checking If-Match the loser gets 412). A revoked or rejected grant is final.
   */
  async update(id: string, patch: GrantPatch, current?: (read: GrantRead) => void): Promise<{ before: Grant; after: Grant; revision: number }> {
    for (let attempt = 1; ; attempt++) {
      const read = await this.read(id);
      current?.(read);
      const before = read.grant;
      if (before.status === "revoked" || before.status === "rejected") {
        throw problem("conflict", { detail: `Grant "${id}" is ${before.status}; a new grant is needed.` });
      }
      if (patch.status === "active" && before.status !== "pending" && before.status !== "active") throw problem("conflict", { detail: `Grant "${id}" cannot become active.` });
      const merged = mergePatch({ surfaces: before.surfaces, payer: before.payer, share: before.share, expiresAt: before.expiresAt, status: before.status }, patch) as Record<string, unknown>;
      const checked = GrantPatch.required({ surfaces: true, payer: true }).safeParse({ ...merged, status: merged.status === "pending" ? undefined : merged.status });
      if (!checked.success) throw problem("invalid-request", { detail: "The grant the patch produces does not match the schema.", errors: issuesOf(checked.error) });
      const terms = checked.data;
      checkShare(terms);
      const after: Grant = {
        ...before,
        surfaces: terms.surfaces,
        payer: terms.payer,
        share: terms.payer === "customer" ? (terms.share ?? null) : null,
        expiresAt: terms.expiresAt ? new Date(terms.expiresAt).toISOString() : null,
        status: (merged.status as Grant["status"]) ?? before.status,
        updatedAt: this.nowIso(),
      };
      const written = await this.env.DB.prepare(
        "UPDATE grants SET surfaces = ?, payer = ?, share = ?, expires_at = ?, status = ?, updated_at = ?, revision = revision + 1 WHERE id = ? AND revision = ? RETURNING revision",
      )
        .bind(JSON.stringify(after.surfaces), after.payer, after.share, after.expiresAt, after.status, after.updatedAt, id, read.revision)
        .first<{ revision: number }>();
      if (!written) {
        if (attempt >= 5) throw problem("conflict", { detail: `Grant "${id}" kept changing while this patch was applied; try again.` });
        continue;
      }
      await this.push(after, written.revision);
      return { before, after, revision: written.revision };
    }
  }

  /** Revokes (final; the grant stays listed). Repeating it pushes the revocation to the limiter again. */
  async revoke(id: string, current?: (read: GrantRead) => void): Promise<{ before: Grant; after: Grant }> {
    const read = await this.read(id);
    current?.(read);
    const after: Grant = read.grant.status === "revoked" ? read.grant : { ...read.grant, status: "revoked", updatedAt: this.nowIso() };
    // The customer's limiter learns it first (revocation is final there, whatever revision a racing
    // PATCH pushes), so the next delegated call is refused even if the D1 write below fails; a
    // repeated revocation completes it. The order of tenant deletion, for the same reason.
    await this.push(after, Number.MAX_SAFE_INTEGER);
    if (read.grant.status !== "revoked") {
      await this.env.DB.prepare("UPDATE grants SET status = 'revoked', updated_at = ?, revision = revision + 1 WHERE id = ? AND status <> 'revoked'").bind(after.updatedAt, id).run();
    }
    return { before: read.grant, after };
  }

  /** The grant into the customer's limiter, and the partner it names (its state may be new to that limiter). */
  private async push(grant: Grant, revision: number): Promise<void> {
    const limiter = limiterOf(this.env, grant.customer);
    await limiter.putGrant(grantStateOf(grant, revision));
    if (grant.status === "active" || grant.status === "pending") await pushPartner(this.env, grant.partner, [grant.customer]);
  }
}

interface TenantRowLite {
  id: string;
  plan: string;
  addons: string;
  overrides: string;
  status: "active" | "suspended";
  deleted_at: string | null;
  mirror_seq: number;
}

/**
 * A partner's state (plan, status, keys) into the limiters of its customers: `customers`, or every
 * customer an active or pending grant of it names. Numbered in D1 in the same transaction that
 * reads it, so the limiters keep the newest whatever order concurrent pushes arrive in. Nothing to
 * do for a tenant no grant names.
 */
export async function pushPartner(env: Pick<Env, "DB" | "LIMITER">, partner: string, customers?: string[]): Promise<void> {
  const [seqRow, keys, targets] = await env.DB.batch<unknown>([
    env.DB.prepare("UPDATE tenants SET mirror_seq = mirror_seq + 1 WHERE id = ? RETURNING id, plan, addons, overrides, status, deleted_at, mirror_seq").bind(partner),
    env.DB.prepare("SELECT id, expires_at, revoked_at FROM api_keys WHERE tenant_id = ?").bind(partner),
    env.DB.prepare("SELECT DISTINCT customer FROM grants WHERE partner = ? AND status IN ('active', 'pending')").bind(partner),
  ]);
  const row = (seqRow?.results[0] ?? null) as TenantRowLite | null;
  if (!row) return;
  const to = customers ?? ((targets?.results ?? []) as { customer: string }[]).map((t) => t.customer);
  if (to.length === 0) return;
  const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));
  const state: PartnerState = {
    id: row.id,
    plan: row.plan,
    addons: JSON.parse(row.addons) as string[],
    overrides: JSON.parse(row.overrides) as PartnerState["overrides"],
    status: row.status,
    deleted: row.deleted_at !== null,
    keys: Object.fromEntries(((keys?.results ?? []) as { id: string; expires_at: string | null; revoked_at: string | null }[]).map((k) => [k.id, { expiresAt: ms(k.expires_at), revokedAt: ms(k.revoked_at) }])),
    seq: row.mirror_seq,
  };
  // In slices, so a partner with many customers does not open thousands of calls at once.
  for (let i = 0; i < to.length; i += 50) {
    await Promise.all(to.slice(i, i + 50).map((customer) => limiterOf(env, customer).putPartner(state)));
  }
}
