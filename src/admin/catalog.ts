// PUT/GET /_tollgate/admin/catalog and GET /catalog/versions (CONTRACT §2, §5).
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Clock } from "../clock";
import type { AppEnv } from "../env";
import { diffCatalogs, strandedTenants } from "../catalog/diff";
import { Catalog, parseCatalog } from "../catalog/schema";
import { CatalogStore } from "../catalog/store";
import { problem } from "../problems";
import { jsonAnswer, problemContent, problemResponses, router } from "../routes";
import { audit } from "./auth";
import { checkIfMatch, etagOf, revisionOf } from "./preconditions";
import { IfMatchHeader, preconditionResponse, tenantStore } from "./tenants";

const CatalogChangeSchema = z
  .object({
    op: z.enum(["added", "removed", "changed"]),
    subject: z.string().openapi({ example: "quota" }),
    path: z.string().openapi({ example: "/plans/free/surfaces/records.write/quota" }),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  })
  .openapi("CatalogChange");

const StrandedTenantSchema = z
  .object({ tenant: z.string(), reasons: z.array(z.object({ path: z.string(), message: z.string() })) })
  .openapi("StrandedTenant", { description: "a tenant whose plan, add-on or override names something the catalog no longer has" });

const CatalogPutAnswer = z
  .object({
    version: z.number().int().nullable().openapi({ description: "the version now current (on a dry run: the current one, unchanged; null when none)" }),
    dryRun: z.boolean().optional(),
    changes: z.array(CatalogChangeSchema),
    stranded: z.array(StrandedTenantSchema),
  })
  .openapi("CatalogPutAnswer");

const flag = z.enum(["true", "false"]).optional();

const putCatalog = createRoute({
  method: "put",
  path: "/catalog",
  operationId: "putCatalog",
  summary: "Validate and store a catalog; an identical catalog keeps its version. Refused when it would strand tenants (409) unless forced; a dry run changes nothing",
  // The body is validated by parseCatalog, which adds cross-checks and reports every issue at once.
  request: {
    query: z.object({
      dryRun: flag.openapi({ description: "validate and answer the diff and the stranded tenants, changing nothing" }),
      force: flag.openapi({ description: "store it even when it strands tenants" }),
    }),
    headers: IfMatchHeader,
    body: { required: true, content: { "application/json": { schema: Catalog } } },
  },
  responses: {
    200: { ...jsonAnswer(CatalogPutAnswer, "the current version, what changed, and the tenants it strands"), headers: { ETag: { schema: { type: "string" } } } },
    ...problemResponses,
    409: { description: "catalog-strands-tenants (members `stranded` and `changes`)", content: problemContent },
    ...preconditionResponse,
  },
});

const getCatalog = createRoute({
  method: "get",
  path: "/catalog",
  operationId: "getCatalog",
  summary: "The current catalog",
  responses: {
    200: { ...jsonAnswer(z.object({ version: z.number().int(), catalog: Catalog }), "the current catalog"), headers: { ETag: { schema: { type: "string" } } } },
    ...problemResponses,
  },
});

const versionParam = z.object({ version: z.coerce.number().int().min(1).openapi({ param: { name: "version", in: "path" }, example: 3 }) });

const getVersion = createRoute({
  method: "get",
  path: "/catalog/versions/{version}",
  operationId: "getCatalogVersion",
  summary: "One stored catalog version",
  request: { params: versionParam },
  responses: { 200: jsonAnswer(z.object({ version: z.number().int(), createdAt: z.string(), catalog: Catalog }), "the version"), ...problemResponses },
});

const diffVersions = createRoute({
  method: "get",
  path: "/catalog/diff",
  operationId: "diffCatalogVersions",
  summary: "What changed between two catalog versions (default: the current one and the one before)",
  request: {
    query: z.object({
      from: z.coerce.number().int().min(0).optional().openapi({ description: "0 = no catalog (everything added); default to − 1" }),
      to: z.coerce.number().int().min(1).optional().openapi({ description: "default: the current version" }),
    }),
  },
  responses: {
    200: jsonAnswer(z.object({ from: z.number().int(), to: z.number().int(), changes: z.array(CatalogChangeSchema) }), "the structural diff"),
    ...problemResponses,
  },
});

const listVersions = createRoute({
  method: "get",
  path: "/catalog/versions",
  operationId: "listCatalogVersions",
  summary: "Every catalog version",
  responses: {
    200: jsonAnswer(z.array(z.object({ version: z.number().int(), createdAt: z.string() })), "versions, oldest first"),
    ...problemResponses,
  },
});

const storeOf = (env: Env, clock: Clock) => new CatalogStore(env.DB, env.CACHE, clock);

/** Schema issues and cross-checks of the raw body, reported together. */
async function validCatalog(c: Context<AppEnv>): Promise<Catalog> {
  const body: unknown = await c.req.json().catch(() => {
    throw problem("invalid-request", { detail: "The body must be JSON.", errors: [{ path: "", message: "malformed JSON" }] });
  });
  const parsed = parseCatalog(body);
  if (!parsed.ok) throw problem("invalid-request", { detail: `The catalog has ${parsed.errors.length} problem(s).`, errors: parsed.errors });
  return parsed.catalog;
}

const catalogRouter = router();
// PUT /catalog is documented from its schema but validated by parseCatalog, which reports schema
// issues and cross-checks together (the route-level validator would stop at the schema).
catalogRouter.openAPIRegistry.registerPath(putCatalog);
catalogRouter.put("/catalog", async (c) => {
  const flags = z.object({ dryRun: flag, force: flag }).safeParse({ dryRun: c.req.query("dryRun"), force: c.req.query("force") });
  if (!flags.success) throw problem("invalid-request", { detail: "dryRun and force are true or false.", errors: [{ path: "", message: flags.error.issues[0]?.message ?? "invalid flag" }] });
  const ifMatch = c.req.header("If-Match");
  const catalog = await validCatalog(c);
  const store = storeOf(c.env, c.get("clock"));
  const current = await store.latest();
  checkIfMatch(ifMatch, current ? etagOf("catalog", current.version) : null, "The catalog");
  const changes = diffCatalogs(current?.catalog ?? null, catalog);
  const stranded = strandedTenants(catalog, await tenantStore(c).allTerms());
  if (flags.data.dryRun === "true") return c.json({ version: current?.version ?? null, dryRun: true, changes, stranded }, 200);
  if (stranded.length > 0 && flags.data.force !== "true") {
    throw problem("catalog-strands-tenants", {
      detail: `The catalog would strand ${stranded.length} tenant(s): ${stranded.slice(0, 5).map((s) => s.tenant).join(", ")}${stranded.length > 5 ? ", …" : ""}. Move them first, or PUT with ?force=true.`,
      extensions: { stranded, changes },
    });
  }
  const result = await store.put(catalog, ifMatch === undefined ? undefined : (revisionOf(ifMatch, "catalog") ?? current?.version ?? 0));
  if (result.stale) throw problem("precondition-failed", { detail: "The catalog changed while this one was being stored. Read it again.", extensions: { etag: etagOf("catalog", result.version) } });
  if (result.changed) {
    await audit(c, { action: "catalog.put", target: "catalog", before: result.previous === null ? null : { version: result.previous }, after: { version: result.version, changes: changes.length, stranded: stranded.map((s) => s.tenant) } });
  }
  c.header("ETag", etagOf("catalog", result.version));
  return c.json({ version: result.version, changes, stranded }, 200);
});

export const catalogRoutes = catalogRouter
  .openapi(getCatalog, async (c) => {
    const snapshot = await storeOf(c.env, c.get("clock")).latest();
    if (!snapshot) throw problem("not-found", { detail: "No catalog has been loaded yet." });
    c.header("ETag", etagOf("catalog", snapshot.version));
    return c.json({ version: snapshot.version, catalog: snapshot.catalog }, 200);
  })
  .openapi(getVersion, async (c) => {
    const version = c.req.valid("param").version;
    const snapshot = await storeOf(c.env, c.get("clock")).get(version);
    if (!snapshot) throw problem("not-found", { detail: `No catalog version ${version}.` });
    return c.json({ version: snapshot.version, createdAt: snapshot.createdAt, catalog: snapshot.catalog }, 200);
  })
  .openapi(diffVersions, async (c) => {
    const q = c.req.valid("query");
    const store = storeOf(c.env, c.get("clock"));
    const to = q.to === undefined ? await store.latest() : await store.get(q.to);
    if (!to) throw problem("not-found", { detail: q.to === undefined ? "No catalog has been loaded yet." : `No catalog version ${q.to}.` });
    const fromVersion = q.from ?? to.version - 1;
    const from = fromVersion === 0 ? null : await store.get(fromVersion);
    if (fromVersion !== 0 && !from) throw problem("not-found", { detail: `No catalog version ${fromVersion}.` });
    return c.json({ from: fromVersion, to: to.version, changes: diffCatalogs(from?.catalog ?? null, to.catalog) }, 200);
  })
  .openapi(listVersions, async (c) => c.json(await storeOf(c.env, c.get("clock")).versions(), 200));
