// Who calls the admin API and what they may do (CONTRACT §9 "Admin tokens"): the root
// ADMIN_TOKEN holds every scope; an admin token holds the scopes it was created with.
import { ADMIN_ACTOR } from "../audit/log";

/**
 * The scope sets an admin token may be created with, in their stored order. A new scope is one
 * more entry here (e.g. §11's `["report"]`); the scope type and the create schema follow from it.
 */
export const GRANTABLE_SCOPE_SETS = [["read"], ["read", "write"], ["report"]] as const;

export type AdminScope = (typeof GRANTABLE_SCOPE_SETS)[number][number];

export const ADMIN_SCOPES: readonly AdminScope[] = [...new Set(GRANTABLE_SCOPE_SETS.flat())];

export type GrantableScopes = (typeof GRANTABLE_SCOPE_SETS)[number];

export interface AdminPrincipal {
  /** The audit log's actor. */
  name: string;
  scopes: readonly AdminScope[];
  /** Only the root ADMIN_TOKEN creates and revokes admin tokens. */
  root: boolean;
}

/** The root token keeps the actor name "admin" it always had, so existing audit readers still match. */
export const ROOT_PRINCIPAL: AdminPrincipal = { name: ADMIN_ACTOR, scopes: ADMIN_SCOPES, root: true };

export const isAdminScope = (value: unknown): value is AdminScope => (ADMIN_SCOPES as readonly unknown[]).includes(value);

/** The grantable set with exactly these scopes (in any order), or null. */
export function grantableSet(scopes: readonly string[]): GrantableScopes | null {
  return GRANTABLE_SCOPE_SETS.find((set) => set.length === scopes.length && set.every((s) => scopes.includes(s))) ?? null;
}

/** The admin path an origin reports outcomes to (CONTRACT §11): the only one the `report` scope reaches. */
export const REPORTS_PATH = "/_tollgate/admin/usage/reports";

/**
 * GET and HEAD only read; every other method may change something, so it needs `write` — except
 * that usage reports need `report` (a token for the origin that can do nothing else, §11).
 */
export function scopeNeededFor(method: string, path = ""): AdminScope {
  if (path === REPORTS_PATH && method === "POST") return "report";
  return method === "GET" || method === "HEAD" ? "read" : "write";
}

export function mayCall(principal: AdminPrincipal, method: string, path = ""): boolean {
  return principal.scopes.includes(scopeNeededFor(method, path));
}
