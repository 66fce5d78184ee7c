// Who may call the admin API and what it may change (CONTRACT §9 admin tokens), and the audit
// record of every mutation, by the calling token's name.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { recordAudit, type AuditEntry } from "../audit/log";
import { timingSafeEqualStrings } from "../crypto";
import type { AppEnv } from "../env";
import { problem } from "../problems";
import { mayCall, ROOT_PRINCIPAL, scopeNeededFor, type AdminPrincipal } from "./principal";
import { AdminTokenStore } from "./token-store";

/** Records an admin mutation that has just succeeded, by the calling token's name (§9). */
export function audit(c: Context<AppEnv>, entry: Omit<AuditEntry, "actor">): Promise<void> {
  return recordAudit(c.env.DB, c.get("clock"), { actor: c.get("adminPrincipal").name, ...entry });
}

type OpenAPIDocument = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;
const operationMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/**
 * `adminAuth` may answer 403 on every admin operation, so the document says so here, once: a
 * route added later cannot forget it, and the tenant endpoints that share `problemResponses` keep
 * their own 403s.
 */
export function withAdminForbidden(doc: OpenAPIDocument, adminPrefix: string): OpenAPIDocument {
  const forbidden = { description: "forbidden: the admin token lacks the scope this method needs", content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } };
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!path.startsWith(`${adminPrefix}/`)) continue;
    for (const method of operationMethods) {
      const operation = item[method];
      // A route that documents its own 403 (e.g. root-only token management) keeps it.
      if (operation && !operation.responses?.["403"]) operation.responses = { ...operation.responses, "403": forbidden };
    }
  }
  return doc;
}

/**
 * Who is calling (§9): the root ADMIN_TOKEN (compared in constant time) or a live admin token,
 * looked up in D1 on every request so a revocation bites on the next one. Then the scope check:
 * a refusal comes before the body is read, so it changes nothing.
 */
export const adminAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const principal = await adminPrincipalOf(c);
  if (!mayCall(principal, c.req.method, c.req.path)) {
    throw problem("forbidden", { detail: `The admin token "${principal.name}" lacks the \`${scopeNeededFor(c.req.method, c.req.path)}\` scope that ${c.req.method} ${c.req.path} needs.` });
  }
  c.set("adminPrincipal", principal);
  await next();
};

async function adminPrincipalOf(c: Context<AppEnv>): Promise<AdminPrincipal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
  const presented = match?.[1];
  if (presented !== undefined) {
    const root = c.env.ADMIN_TOKEN;
    if (root && (await timingSafeEqualStrings(presented, root))) return ROOT_PRINCIPAL;
    // A lookup by SHA-256 digest: nothing about the stored secret leaks through its timing.
    const principal = await new AdminTokenStore(c.env.DB, c.get("clock")).principalOf(presented);
    if (principal) return principal;
  }
  throw problem("unauthenticated", { detail: "The admin API needs `Authorization: Bearer <token>` with the ADMIN_TOKEN or a live admin token." });
}
