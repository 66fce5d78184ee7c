// GET /_tollgate/admin/tenants/{id}/recommendations and, with the tenant's own key,
// GET /_tollgate/recommendations (CONTRACT §8 Advice): from the tenant's own retained rows.
import { createRoute, z } from "@hono/zod-openapi";
import { CatalogStore } from "../catalog/store";
import type { Clock } from "../clock";
import { limiterOf } from "../limiter/stub";
import { REQUEST_RETENTION_DAYS } from "../metering/requests";
import { jsonAnswer, problemResponses, router } from "../routes";
import { requestRowOf } from "../simulation/rows";
import { TenantStore } from "../tenants/store";
import { checkedCaller, tenantAuth } from "../tenant-api/quote";
import { recommend, RECOMMENDATION_CODES, type Recommendation } from "./recommend";

const DAY_MS = 86_400_000;
/** The most recent calls advice reads (a tenant's retained rows can be many). */
const MAX_ADVICE_ROWS = 100_000;

export const RecommendationSchema = z
  .object({
    code: z.enum(RECOMMENDATION_CODES),
    surface: z.string(),
    evidence: z.record(z.string(), z.unknown()).openapi({ example: { calls: 120, units: 180, minUnits: 10, multiplier: 0.5 } }),
    savings: z.string().nullable().openapi({ description: "exact money the change would have saved over the evidence; null when the rows cannot tell (use-conditional-requests)", example: "0.09" }),
  })
  .openapi("Recommendation");

const answer = jsonAnswer(z.array(RecommendationSchema), `recommendations with evidence from the last ${REQUEST_RETENTION_DAYS} days, largest savings first`);

const adminRoute = createRoute({
  method: "get",
  path: "/tenants/{id}/recommendations",
  operationId: "getTenantRecommendations",
  summary: "What a tenant could change in how it integrates, with evidence from its own usage and the exact savings",
  request: { params: z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "acme" }) }) },
  responses: { 200: answer, ...problemResponses },
});

const ownRoute = createRoute({
  method: "get",
  path: "/recommendations",
  operationId: "getOwnRecommendations",
  summary: "What the caller could change in how it integrates, with evidence from its own usage and the exact savings",
  security: [{ apiKey: [] }],
  responses: { 200: answer, ...problemResponses },
});

/** The tenant's own calls of the retained window, after its limiter flushed (read-your-writes). */
async function recommendationsOf(env: Env, clock: Clock, tenant: { id: string; plan: string; addons: string[]; overrides: Record<string, unknown> }): Promise<Recommendation[]> {
  await limiterOf(env, tenant.id).flush();
  const snapshot = await new CatalogStore(env.DB, env.CACHE, clock).current();
  if (!snapshot) return [];
  const now = clock.now();
  const from = now - REQUEST_RETENTION_DAYS * DAY_MS;
  const [rows, retries] = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare("SELECT * FROM (SELECT rowid AS seq, * FROM usage_requests WHERE tenant = ? AND actor = ? AND at >= ? ORDER BY at DESC LIMIT ?) ORDER BY seq").bind(tenant.id, tenant.id, from, MAX_ADVICE_ROWS),
    // Hourly rollups hold early retries (refusals before admission included); whole hours of the window.
    env.DB.prepare("SELECT surface, SUM(early_retries) AS n FROM usage_rollups WHERE tenant = ? AND actor = ? AND granularity = 'hour' AND period_start >= ? GROUP BY surface HAVING n > 0").bind(tenant.id, tenant.id, new Date(Math.floor(from / 3_600_000) * 3_600_000).toISOString()),
  ]);
  const earlyRetries = Object.fromEntries(((retries?.results ?? []) as { surface: string; n: number }[]).map((r) => [r.surface, r.n]));
  return recommend({
    catalog: snapshot.catalog,
    tenant: { plan: tenant.plan, addons: tenant.addons, overrides: tenant.overrides as never },
    rows: ((rows?.results ?? []) as never[]).map(requestRowOf),
    earlyRetries,
    now,
  });
}

const adminRouter = router();
export const adminAdviceRoutes = adminRouter.openapi(adminRoute, async (c) => {
  const tenant = await new TenantStore(c.env, c.get("clock")).get(c.req.valid("param").id);
  return c.json(await recommendationsOf(c.env, c.get("clock"), tenant), 200);
});

const ownRouter = router();
ownRouter.use("/recommendations", tenantAuth);
export const ownAdviceRoutes = ownRouter.openapi(ownRoute, async (c) => {
  const tenantId = await checkedCaller(c);
  const tenant = await new TenantStore(c.env, c.get("clock")).get(tenantId);
  return c.json(await recommendationsOf(c.env, c.get("clock"), tenant), 200);
});
