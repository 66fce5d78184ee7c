// PUT/GET /_tollgate/admin/catalog and GET /catalog/versions (CONTRACT §2, §5).
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Clock } from "../clock";
import type { AppEnv } from "../env";
import { Catalog, parseCatalog } from "../catalog/schema";
import { CatalogStore } from "../catalog/store";
import { problem } from "../problems";
import { jsonAnswer, problemResponses, router } from "../routes";
import { audit } from "./auth";

const CatalogVersion = z.object({ version: z.number().int() }).openapi("CatalogVersion");

const putCatalog = createRoute({
  method: "put",
  path: "/catalog",
  summary: "Validate and store a catalog; an identical catalog keeps its version",
  // The body is validated by parseCatalog, which adds cross-checks and reports every issue at once.
  request: { body: { required: true, content: { "application/json": { schema: Catalog } } } },
  responses: { 200: jsonAnswer(CatalogVersion, "the current version"), ...problemResponses },
});

const getCatalog = createRoute({
  method: "get",
  path: "/catalog",
  summary: "The current catalog",
  responses: {
    200: jsonAnswer(z.object({ version: z.number().int(), catalog: Catalog }), "the current catalog"),
    ...problemResponses,
  },
});

const listVersions = createRoute({
  method: "get",
  path: "/catalog/versions",
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
  const result = await storeOf(c.env, c.get("clock")).put(await validCatalog(c));
  if (result.changed) await audit(c, { action: "catalog.put", target: "catalog", before: result.previous === null ? null : { version: result.previous }, after: { version: result.version } });
  return c.json({ version: result.version }, 200);
});

export const catalogRoutes = catalogRouter
  .openapi(getCatalog, async (c) => {
    const snapshot = await storeOf(c.env, c.get("clock")).current();
    if (!snapshot) throw problem("not-found", { detail: "No catalog has been loaded yet." });
    return c.json({ version: snapshot.version, catalog: snapshot.catalog }, 200);
  })
  .openapi(listVersions, async (c) => c.json(await storeOf(c.env, c.get("clock")).versions(), 200));
