// Admin tokens in D1 (CONTRACT §9): `tga_` + 40 random base62 characters, stored only as SHA-256
// hex. Looked up on every admin request without any cache, so a revocation bites on the next one.
import type { Clock } from "../clock";
import { ADMIN_ACTOR } from "../audit/log";
import { randomBase62, sha256Hex } from "../crypto";
import { problem } from "../problems";
import { isAdminScope, type AdminPrincipal, type AdminScope, type GrantableScopes } from "./principal";

export const ADMIN_TOKEN_PATTERN = /^tga_[0-9A-Za-z]{40}$/;
const TOKEN_RANDOM_LENGTH = 40;
const PREFIX_LENGTH = 12; // "tga_" + 8 characters: enough to tell tokens apart, useless to guess one

export interface AdminTokenSummary {
  id: string;
  name: string;
  scopes: AdminScope[];
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface NewAdminToken extends AdminTokenSummary {
  /** The secret itself: answered once, never stored. */
  token: string;
}

interface TokenRow {
  id: string;
  name: string;
  scopes: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}

// The hash column is never selected: no answer can carry it by mistake.
const SUMMARY_COLUMNS = "id, name, scopes, prefix, created_at, revoked_at";

/** Unknown scopes in a row (e.g. written by a newer version) are dropped, so they grant nothing. */
const scopesOf = (json: string): AdminScope[] => (JSON.parse(json) as unknown[]).filter(isAdminScope);

const summaryOf = (row: TokenRow): AdminTokenSummary => ({
  id: row.id,
  name: row.name,
  scopes: scopesOf(row.scopes),
  prefix: row.prefix,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export const hashAdminToken = (token: string) => sha256Hex(token);

export class AdminTokenStore {
  constructor(
    private readonly db: D1Database,
    private readonly clock: Clock,
  ) {}

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** The live unique index on `name` decides between racing creates: one wins, the other is a conflict. */
  async create(name: string, scopes: GrantableScopes): Promise<NewAdminToken> {
    // The root token's actor name: a token of that name would make the audit log ambiguous.
    if (name === ADMIN_ACTOR) throw problem("conflict", { detail: `The name "${name}" is the root token's.` });
    const token = `tga_${randomBase62(TOKEN_RANDOM_LENGTH)}`;
    const row: TokenRow = {
      id: `atk_${crypto.randomUUID().replaceAll("-", "")}`,
      name,
      scopes: JSON.stringify(scopes),
      prefix: token.slice(0, PREFIX_LENGTH),
      created_at: this.nowIso(),
      revoked_at: null,
    };
    const inserted = await this.db
      .prepare(
        "INSERT INTO admin_tokens (id, name, hash, prefix, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING",
      )
      .bind(row.id, row.name, await hashAdminToken(token), row.prefix, row.scopes, row.created_at)
      .run();
    if (inserted.meta.changes === 0) throw problem("conflict", { detail: `A live admin token is already named "${name}".` });
    return { ...summaryOf(row), token };
  }

  /** Every token, revoked ones included, oldest first. */
  async list(): Promise<AdminTokenSummary[]> {
    const { results } = await this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM admin_tokens ORDER BY created_at, id`).all<TokenRow>();
    return results.map(summaryOf);
  }

  /** Revoking a revoked token keeps its first `revokedAt` and changes nothing. */
  async revoke(id: string): Promise<{ before: AdminTokenSummary; after: AdminTokenSummary; changed: boolean }> {
    const before = await this.get(id);
    if (before.revokedAt !== null) return { before, after: before, changed: false };
    const revokedAt = this.nowIso();
    const updated = await this.db.prepare("UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").bind(revokedAt, id).run();
    // A concurrent revoke got there first: its revokedAt stands and only it is audited.
    if (updated.meta.changes === 0) return { before, after: await this.get(id), changed: false };
    return { before, after: { ...before, revokedAt }, changed: true };
  }

  private async get(id: string): Promise<AdminTokenSummary> {
    const row = await this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM admin_tokens WHERE id = ?`).bind(id).first<TokenRow>();
    if (!row) throw problem("not-found", { detail: `No admin token "${id}".` });
    return summaryOf(row);
  }

  /** The live token's principal, or null for an unknown or revoked token. */
  async principalOf(token: string): Promise<AdminPrincipal | null> {
    if (!ADMIN_TOKEN_PATTERN.test(token)) return null;
    const row = await this.db
      .prepare("SELECT name, scopes FROM admin_tokens WHERE hash = ? AND revoked_at IS NULL")
      .bind(await hashAdminToken(token))
      .first<Pick<TokenRow, "name" | "scopes">>();
    return row ? { name: row.name, scopes: scopesOf(row.scopes), root: false } : null;
  }
}
