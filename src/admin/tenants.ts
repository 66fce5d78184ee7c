// /_tollgate/admin/tenants: create, list, read (with effective limits), patch, delete (CONTRACT §5).
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Catalog } from "../catalog/schema";
import { CatalogStore } from "../catalog/store";
import type { AppEnv } from "../env";
import { callableTerms, effectivePolicy } from "../limiter/policy";
import { problem, type ValidationIssue } from "../problems";
import { Tenant, TenantCreate, TenantId, TenantPatch } from "../tenants/schema";
import { TenantStore, type TenantRead } from "../tenants/store";
import { conflictResponse, jsonAnswer, jsonBody, problemContent, problemResponses, router } from "../routes";
import { emitEvents, tenantUpdated } from "../webhooks/emit";
import { audit } from "./auth";
import { checkIfMatch, etagOf, revisionOf } from "./preconditions";

export const tenantStore = (c: Context<AppEnv>) => new TenantStore(c.env, c.get("clock"));
export const currentCatalog = async (c: Context<AppEnv>) => (await new CatalogStore(c.env.DB, c.env.CACHE, c.get("clock")).current())?.catalog ?? null;

/** Plan, add-ons and overrides must name things the current catalog has (when one is loaded). */
function checkTerms(catalog: Catalog | null, t: { plan?: string | undefined; addons?: string[] | undefined; overrides?: Record<string, unknown> | undefined }): void {
  if (!catalog) return;
  const errors: ValidationIssue[] = [];
  if (t.plan !== undefined && !Object.hasOwn(catalog.plans, t.plan)) errors.push({ path: "/plan", message: `unknown plan "${t.plan}"` });
  (t.addons ?? []).forEach((s, i) => {
    if (!Object.hasOwn(catalog.surfaces, s)) errors.push({ path: `/addons/${i}`, message: `unknown surface "${s}"` });
  });
  for (const s of Object.keys(t.overrides ?? {})) {
    if (!Object.hasOwn(catalog.surfaces, s)) errors.push({ path: `/overrides/${s}`, message: `unknown surface "${s}"` });
  }
  if (errors.length > 0) throw problem("invalid-request", { detail: "The tenant names things the catalog does not have.", errors });
}

export const EffectiveSurface = z.object({
  rule: z.string(),
  unit: z.string(),
  rate: z.unknown().optional(),
  quota: z.unknown().optional(),
  price: z.unknown().optional(),
  concurrency: z.number().optional(),
});

const TenantWithLimits = Tenant.extend({ surfaces: z.record(z.string(), EffectiveSurface) }).openapi("TenantWithLimits");

/** Every surface of the catalog the tenant may call, with its effective rule and limits. */
export function effectiveSurfaces(catalog: Catalog | null, tenant: Tenant): Record<string, z.infer<typeof EffectiveSurface>> {
  if (!catalog) return {};
  const out: Record<string, z.infer<typeof EffectiveSurface>> = {};
  for (const [surface, terms] of Object.entries(callableTerms(catalog, tenant))) {
    const p = effectivePolicy(tenant, surface, terms);
    out[surface] = {
      rule: p.rule,
      unit: p.meter.unit,
      ...(p.rate && { rate: p.rate }),
      ...(p.quota && { quota: p.quota }),
      ...(p.price && { price: p.price }),
      ...(p.concurrency !== undefined && { concurrency: p.concurrency }),
    };
  }
  return out;
}

const idParam = z.object({ id: TenantId.openapi({ param: { name: "id", in: "path" } }) });

export const IfMatchHeader = z.object({
  "if-match": z.string().optional().openapi({ description: "the ETag of the last read; the write is refused with 412 when it no longer matches", example: '"tenant-3"' }),
});
const etagHeader = { ETag: { schema: { type: "string" as const }, description: "names this revision; send it back as If-Match" } };
export const preconditionResponse = { 412: { description: "precondition-failed: the resource changed since the ETag was read", content: problemContent } } as const;

const tenantEtag = (read: TenantRead) => etagOf("tenant", read.revision);
const ifMatchOn = (header: string | undefined, id: string) => (read: TenantRead) => checkIfMatch(header, tenantEtag(read), `Tenant "${id}"`);

const createTenant = createRoute({
  operationId: "createTenant",
  method: "post",
  path: "/tenants",
  summary: "Create a tenant",
  request: { body: jsonBody(TenantCreate) },
  responses: { 201: jsonAnswer(Tenant, "the tenant"), ...problemResponses, ...conflictResponse },
});

const listTenants = createRoute({
  operationId: "listTenants",
  method: "get",
  path: "/tenants",
  summary: "List tenants, ordered by id",
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(50),
      cursor: z.string().optional(),
      q: z.string().max(100).optional().openapi({ description: "only tenants whose id or name contains this text (case-insensitive)" }),
    }),
  },
  responses: { 200: jsonAnswer(z.object({ items: z.array(Tenant), cursor: z.string().optional() }), "a page of tenants"), ...problemResponses },
});

const getTenant = createRoute({
  operationId: "getTenant",
  method: "get",
  path: "/tenants/{id}",
  summary: "A tenant with its effective per-surface limits",
  request: { params: idParam },
  responses: { 200: { ...jsonAnswer(TenantWithLimits, "the tenant"), headers: etagHeader }, ...problemResponses },
});

const patchTenant = createRoute({
  operationId: "patchTenant",
  method: "patch",
  path: "/tenants/{id}",
  summary: "Change plan, add-ons, overrides or status with a JSON merge patch (RFC 7396); takes effect on the next request",
  request: {
    params: idParam,
    headers: IfMatchHeader,
    body: { required: true, content: { "application/merge-patch+json": { schema: TenantPatch }, "application/json": { schema: TenantPatch } } },
  },
  responses: { 200: { ...jsonAnswer(Tenant, "the tenant"), headers: etagHeader }, ...problemResponses, ...preconditionResponse, ...conflictResponse },
});

const deleteTenant = createRoute({
  operationId: "deleteTenant",
  method: "delete",
  path: "/tenants/{id}",
  summary: "Delete a tenant: its keys stop working, its usage stays",
  request: { params: idParam, headers: IfMatchHeader },
  responses: { 204: { description: "deleted" }, ...problemResponses, ...preconditionResponse },
});

export const tenantRoutes = router()
  .openapi(createTenant, async (c) => {
    const input = c.req.valid("json");
    checkTerms(await currentCatalog(c), input);
    const tenant = await tenantStore(c).create(input);
    await audit(c, { action: "tenant.create", target: `tenant:${tenant.id}`, before: null, after: tenant });
    return c.json(tenant, 201);
  })
  .openapi(listTenants, async (c) => {
    const { limit, cursor, q } = c.req.valid("query");
    return c.json(await tenantStore(c).list(limit, cursor, q), 200);
  })
  .openapi(getTenant, async (c) => {
    const read = await tenantStore(c).read(c.req.valid("param").id);
    c.header("ETag", tenantEtag(read));
    return c.json({ ...read.tenant, surfaces: effectiveSurfaces(await currentCatalog(c), read.tenant) }, 200);
  })
  .openapi(patchTenant, async (c) => {
    const id = c.req.valid("param").id;
    const ifMatch = c.req.valid("header")["if-match"];
    const catalog = await currentCatalog(c);
    const { before, after, revision } = await tenantStore(c).update(id, c.req.valid("json"), {
      current: ifMatchOn(ifMatch, id),
      // Only what the patch names must exist in the catalog: a patch of `status` still works
      // for a tenant a forced catalog change stranded.
      next: (terms, patch) =>
        checkTerms(catalog, {
          ...(patch.plan !== undefined && { plan: terms.plan }),
          ...(patch.addons !== undefined && { addons: terms.addons }),
          overrides: Object.fromEntries(Object.entries(patch.overrides ?? {}).filter(([, v]) => v !== null)),
        }),
    });
    await audit(c, { action: "tenant.update", target: `tenant:${after.id}`, before, after });
    await emitEvents(c.env, [tenantUpdated(c.get("clock").now(), after.id, revision, before, after)]);
    c.header("ETag", etagOf("tenant", revision));
    return c.json(after, 200);
  })
  .openapi(deleteTenant, async (c) => {
    const id = c.req.valid("param").id;
    const ifMatch = c.req.valid("header")["if-match"];
    const before = await tenantStore(c).delete(id, { current: ifMatchOn(ifMatch, id) }, ifMatch === undefined ? undefined : (revisionOf(ifMatch, "tenant") ?? undefined));
    await audit(c, { action: "tenant.delete", target: `tenant:${before.id}`, before, after: null });
    await emitEvents(c.env, [tenantUpdated(c.get("clock").now(), before.id, "deleted", before, null)]);
    return c.body(null, 204);
  });
