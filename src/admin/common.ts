// What every admin route shares: the problem schema for OpenAPI, the validation hook that turns
// zod issues into `invalid-request`, and the admin bearer-token check with its scopes.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { issuesOf } from "../catalog/schema";
import { timingSafeEqualStrings } from "../crypto";
import type { AppEnv } from "../env";
import { problem } from "../problems";
import { recordAudit, type AuditEntry } from "../audit/log";
import type { Context } from "hono";
import { mayCall, ROOT_PRINCIPAL, scopeNeededFor, type AdminPrincipal } from "./principal";
import { AdminTokenStore } from "./token-store";

/** Records an admin mutation that has just succeeded, by the calling token's name (§9). */
export function audit(c: Context<AppEnv>, entry: Omit<AuditEntry, "actor">): Promise<void> {
  return recordAudit(c.env.DB, c.get("clock"), { actor: c.get("adminPrincipal").name, ...entry });
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:tollgate:problem:invalid-request" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    surface: z.string().optional(),
    retryAfter: z.number().int().optional(),
    "violated-policies": z.array(z.string()).optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

export const problemContent = { "application/problem+json": { schema: ProblemSchema } };

/** The error answers every route may give, spread into each route's `responses`. */
export const problemResponses = {
  400: { description: "invalid-request", content: problemContent },
  401: { description: "unauthenticated", content: problemContent },
  404: { description: "not-found", content: problemContent },
} as const;

export const conflictResponse = { 409: { description: "conflict", content: problemContent } } as const;

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

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const jsonAnswer = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A router whose validation failures are `invalid-request` problems listing every issue. */
export function router(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw problem("invalid-request", { detail: "The request does not match the schema.", errors: issuesOf(result.error) });
      }
    },
  });
}

/**
 * Who is calling (§9): the root ADMIN_TOKEN (compared in constant time) or a live admin token,
 * looked up in D1 on every request so a revocation bites on the next one. Then the scope check:
 * a refusal comes before the body is read, so it changes nothing.
 */
export const adminAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const principal = await adminPrincipalOf(c);
  if (!mayCall(principal, c.req.method)) {
    throw problem("forbidden", { detail: `The admin token "${principal.name}" lacks the \`${scopeNeededFor(c.req.method)}\` scope that ${c.req.method} needs.` });
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
