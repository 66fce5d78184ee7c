// /_tollgate/admin/tokens: create, list, revoke admin tokens (CONTRACT §9 "Admin tokens").
// Any token with `read` may list them; only the root ADMIN_TOKEN creates and revokes them, so a
// `write` token cannot mint itself a successor that outlives its own revocation.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { problem } from "../problems";
import { conflictResponse, jsonAnswer, jsonBody, problemContent, problemResponses, router } from "../routes";
import { audit } from "./auth";
import { ADMIN_SCOPES, GRANTABLE_SCOPE_SETS, grantableSet, scopeNeededFor } from "./principal";
import { AdminTokenStore } from "./token-store";

const tokenStore = (c: Context<AppEnv>) => new AdminTokenStore(c.env.DB, c.get("clock"));

const grantable = GRANTABLE_SCOPE_SETS.map((set) => JSON.stringify(set)).join(" or ");

export const AdminTokenName = z
  .string()
  .min(1)
  .max(64)
  // No `u` flag: the pattern is copied into openapi.json, where flags do not exist.
  .regex(/^(?!\s)(?![\s\S]*\s$)[^\x00-\x1f\x7f-\x9f]+$/, "no control characters, no leading or trailing space")
  .openapi({ description: "unique among live tokens; the audit log's actor", example: "ci-deploy" });

/** Any order is accepted; the token stores the grantable set in its canonical order. */
export const AdminTokenScopes = z
  .array(z.enum(ADMIN_SCOPES))
  .transform((scopes, ctx) => {
    const set = grantableSet(scopes);
    if (set === null) {
      ctx.addIssue({ code: "custom", message: `scopes must be ${grantable}` });
      return z.NEVER;
    }
    return set;
  })
  .openapi({ description: grantable, example: ["read"] });

export const AdminTokenCreate = z.strictObject({ name: AdminTokenName, scopes: AdminTokenScopes }).openapi("AdminTokenCreate");
export type AdminTokenCreate = z.input<typeof AdminTokenCreate>;

export const AdminTokenSummarySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(ADMIN_SCOPES)),
    prefix: z.string().openapi({ description: "the token's first characters, to recognise it" }),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi("AdminToken");
export type AdminTokenSummary = z.infer<typeof AdminTokenSummarySchema>;

export const NewAdminTokenSchema = AdminTokenSummarySchema.omit({ revokedAt: true })
  .extend({ token: z.string().openapi({ description: "the bearer token; this is the only answer that shows it", example: "tga_…" }) })
  .openapi("NewAdminToken");
export type NewAdminToken = z.infer<typeof NewAdminTokenSchema>;

const rootOnly = { 403: { description: "forbidden: only the root ADMIN_TOKEN manages admin tokens", content: problemContent } } as const;

const createToken = createRoute({
  operationId: "createAdminToken",
  method: "post",
  path: "/tokens",
  summary: "Create an admin token (root token only); the only answer that shows `token`",
  request: { body: jsonBody(AdminTokenCreate) },
  responses: { 201: jsonAnswer(NewAdminTokenSchema, "the new token"), ...problemResponses, ...rootOnly, ...conflictResponse },
});

const listTokens = createRoute({
  operationId: "listAdminTokens",
  method: "get",
  path: "/tokens",
  summary: "Every admin token, revoked ones included, oldest first (secrets and hashes are never shown)",
  responses: { 200: jsonAnswer(z.array(AdminTokenSummarySchema), "the tokens"), ...problemResponses },
});

const revokeToken = createRoute({
  operationId: "revokeAdminToken",
  method: "delete",
  path: "/tokens/{id}",
  summary: "Revoke an admin token (root token only): it gets unauthenticated from the next request on",
  request: { params: z.object({ id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }) }) },
  responses: { 204: { description: "revoked" }, ...problemResponses, ...rootOnly },
});

/** Checked before the body is validated, so a refused caller learns nothing about it. */
const rootManagesTokens: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (scopeNeededFor(c.req.method) !== "read" && !c.get("adminPrincipal").root) {
    throw problem("forbidden", { detail: "Only the root ADMIN_TOKEN creates and revokes admin tokens." });
  }
  await next();
};

const tokenRouter = router();
tokenRouter.use("/tokens/*", rootManagesTokens); // Hono's "/tokens/*" matches "/tokens" too

export const tokenRoutes = tokenRouter
  .openapi(createToken, async (c) => {
    const { name, scopes } = c.req.valid("json");
    const created = await tokenStore(c).create(name, scopes);
    const { token: _secret, ...summary } = created; // the secret is never audited
    await audit(c, { action: "admin-token.create", target: `admin-token:${created.id}`, before: null, after: summary });
    const { revokedAt: _alwaysNull, ...answer } = created;
    return c.json(answer, 201);
  })
  .openapi(listTokens, async (c) => c.json(await tokenStore(c).list(), 200))
  .openapi(revokeToken, async (c) => {
    const { before, after, changed } = await tokenStore(c).revoke(c.req.valid("param").id);
    if (changed) await audit(c, { action: "admin-token.revoke", target: `admin-token:${after.id}`, before, after });
    return c.body(null, 204);
  });
