// /_tollgate/admin/tenants/:id/limits: the limiter's live view, and resets (CONTRACT §5).
import { createRoute, z } from "@hono/zod-openapi";
import { limiterOf } from "../limiter/stub";
import { callableTerms } from "../limiter/policy";
import { problem } from "../problems";
import { TenantId } from "../tenants/schema";
import { jsonAnswer, jsonBody, problemResponses, router } from "../routes";
import { audit } from "./auth";
import { currentCatalog, tenantStore } from "./tenants";

const SurfaceLimits = z
  .object({
    rate: z.object({ limit: z.number(), remaining: z.number(), reset: z.number() }).optional(),
    quota: z
      .object({ limit: z.number(), used: z.number(), remaining: z.number(), periodStart: z.string(), periodEnd: z.string() })
      .optional(),
    concurrency: z.object({ limit: z.number(), inFlight: z.number() }).optional(),
    inFlight: z.number(),
  })
  .openapi("SurfaceLimits");

const tenantParam = z.object({ id: TenantId.openapi({ param: { name: "id", in: "path" } }) });

const getLimits = createRoute({
  operationId: "getLimits",
  method: "get",
  path: "/tenants/{id}/limits",
  summary: "Live rate, quota and concurrency state per surface",
  request: { params: tenantParam },
  responses: { 200: jsonAnswer(z.record(z.string(), SurfaceLimits), "per surface"), ...problemResponses },
});

const LimiterStatsSchema = z
  .object({
    since: z.string().openapi({ description: "when this instance of the tenant's limiter started (counters restart with it)" }),
    calls: z.record(z.string(), z.number().int()).openapi({ description: "RPC calls by method since then (`admitBatch` counts one call however many admissions it carried)" }),
    batchedAdmissions: z.number().int().openapi({ description: "admissions that came in `admitBatch` calls since then: requests of one isolate that waited while another admission for the tenant was on its way" }),
    leasesGranted: z.number().int(),
    failedTransactions: z.number().int().openapi({ description: "storage transactions that failed since then: each rolled back, and the limiter reloaded its memory from storage" }),
    storage: z.object({ bytes: z.number().int(), rows: z.record(z.string(), z.number().int()) }),
  })
  .openapi("LimiterStats");

const getLimiterStats = createRoute({
  operationId: "getLimiterStats",
  method: "get",
  path: "/tenants/{id}/limiter",
  summary: "What the tenant's limiter has been asked since it started, and what it stores",
  request: { params: tenantParam },
  responses: { 200: jsonAnswer(LimiterStatsSchema, "calls and storage"), ...problemResponses },
});

const LimitsReset = z.strictObject({ surface: z.string().optional(), what: z.enum(["rate", "quota", "all"]) }).openapi("LimitsReset");

const resetLimits = createRoute({
  operationId: "resetLimits",
  method: "post",
  path: "/tenants/{id}/limits/reset",
  summary: "Refill the rate bucket and/or clear the current quota period's usage",
  request: { params: tenantParam, body: jsonBody(LimitsReset) },
  responses: { 204: { description: "reset" }, ...problemResponses },
});

export const limitRoutes = router()
  .openapi(getLimiterStats, async (c) => {
    const tenant = await tenantStore(c).get(c.req.valid("param").id);
    return c.json(await limiterOf(c.env, tenant.id).stats(), 200);
  })
  .openapi(getLimits, async (c) => {
    const tenant = await tenantStore(c).get(c.req.valid("param").id);
    const catalog = await currentCatalog(c);
    if (!catalog) return c.json({}, 200);
    const limits = await limiterOf(c.env, tenant.id).limits(callableTerms(catalog, tenant));
    // The view of CONTRACT §5: drop the fields headers need but the admin view does not promise.
    const view = Object.fromEntries(
      Object.entries(limits).map(([s, l]) => [
        s,
        {
          ...(l.rate && { rate: { limit: l.rate.limit, remaining: l.rate.remaining, reset: l.rate.reset } }),
          ...(l.quota && { quota: { limit: l.quota.limit, used: l.quota.used, remaining: l.quota.remaining, periodStart: l.quota.periodStart, periodEnd: l.quota.periodEnd } }),
          ...(l.concurrency && { concurrency: l.concurrency }),
          inFlight: l.inFlight,
        },
      ]),
    );
    return c.json(view, 200);
  })
  .openapi(resetLimits, async (c) => {
    const tenant = await tenantStore(c).get(c.req.valid("param").id);
    const { surface, what } = c.req.valid("json");
    const catalog = await currentCatalog(c);
    if (surface !== undefined && !(catalog && Object.hasOwn(catalog.surfaces, surface))) {
      throw problem("invalid-request", { detail: `Unknown surface "${surface}".`, errors: [{ path: "/surface", message: "unknown surface" }] });
    }
    const before = await limiterOf(c.env, tenant.id).limits(catalog ? callableTerms(catalog, tenant) : {});
    await limiterOf(c.env, tenant.id).reset(surface ?? null, what);
    await audit(c, { action: "limits.reset", target: `tenant:${tenant.id}`, before: surface === undefined ? before : { [surface]: before[surface] }, after: { surface: surface ?? null, what } });
    return c.body(null, 204);
  });
