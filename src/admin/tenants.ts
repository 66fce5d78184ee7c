// /_tollgate/admin/tenants: create, list, read (with effective limits), patch, delete (CONTRACT §5).
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Catalog } from "../catalog/schema";
import { CatalogStore } from "../catalog/store";
import type { AppEnv } from "../env";
import { callableTerms, effectivePolicy } from "../limiter/policy";
import { problem, type ValidationIssue } from "../problems";
import { Tenant, TenantCreate, TenantId, TenantPatch } from "../tenants/schema";
import { TenantStore } from "../tenants/store";
import { conflictResponse, jsonAnswer, jsonBody, problemResponses, router } from "../routes";
import { audit } from "./auth";

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

const createTenant = createRoute({
  method: "post",
  path: "/tenants",
  summary: "Create a tenant",
  request: { body: jsonBody(TenantCreate) },
  responses: { 201: jsonAnswer(Tenant, "the tenant"), ...problemResponses, ...conflictResponse },
});

const listTenants = createRoute({
  method: "get",
  path: "/tenants",
  summary: "List tenants, ordered by id",
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(50),
      cursor: z.string().optional(),
    }),
  },
  responses: { 200: jsonAnswer(z.object({ items: z.array(Tenant), cursor: z.string().optional() }), "a page of tenants"), ...problemResponses },
});

const getTenant = createRoute({
  method: "get",
  path: "/tenants/{id}",
  summary: "A tenant with its effective per-surface limits",
  request: { params: idParam },
  responses: { 200: jsonAnswer(TenantWithLimits, "the tenant"), ...problemResponses },
});

const patchTenant = createRoute({
  method: "patch",
  path: "/tenants/{id}",
  summary: "Change plan, add-ons, overrides or status; takes effect on the next request",
  request: { params: idParam, body: jsonBody(TenantPatch) },
  responses: { 200: jsonAnswer(Tenant, "the tenant"), ...problemResponses },
});

const deleteTenant = createRoute({
  method: "delete",
  path: "/tenants/{id}",
  summary: "Delete a tenant: its keys stop working, its usage stays",
  request: { params: idParam },
  responses: { 204: { description: "deleted" }, ...problemResponses },
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
    const { limit, cursor } = c.req.valid("query");
    return c.json(await tenantStore(c).list(limit, cursor), 200);
  })
  .openapi(getTenant, async (c) => {
    const tenant = await tenantStore(c).get(c.req.valid("param").id);
    return c.json({ ...tenant, surfaces: effectiveSurfaces(await currentCatalog(c), tenant) }, 200);
  })
  .openapi(patchTenant, async (c) => {
    const patch = c.req.valid("json");
    checkTerms(await currentCatalog(c), patch);
    const { before, after } = await tenantStore(c).update(c.req.valid("param").id, patch);
    await audit(c, { action: "tenant.update", target: `tenant:${after.id}`, before, after });
    return c.json(after, 200);
  })
  .openapi(deleteTenant, async (c) => {
    const before = await tenantStore(c).delete(c.req.valid("param").id);
    await audit(c, { action: "tenant.delete", target: `tenant:${before.id}`, before, after: null });
    return c.body(null, 204);
  });
