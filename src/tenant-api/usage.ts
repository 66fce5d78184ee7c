// GET /_tollgate/usage: a tenant's own rollup rows and live limits, with its own key (CONTRACT §5).
import { createRoute, z } from "@hono/zod-openapi";
import { jsonAnswer, problemResponses, router } from "../routes";
import { RollupRowSchema } from "../admin/usage";
import { CatalogStore } from "../catalog/store";
import { limiterOf } from "../limiter/stub";
import { callableTerms } from "../limiter/policy";
import { rollupCsv } from "../metering/csv";
import { filterOf, UsageQuery } from "../metering/usage-query";
import { queryRollups } from "../metering/usage-rows";
import { flushUsage } from "../metering/read-your-writes";
import { readUsageSummary } from "../metering/summary";
import { problem } from "../problems";
import { tenantAuth } from "./quote";

const getOwnUsage = createRoute({
  operationId: "getOwnUsage",
  method: "get",
  path: "/usage",
  summary: "The caller's own usage rollup rows and live limits (read-your-writes)",
  security: [{ apiKey: [] }],
  request: {
    query: UsageQuery.extend({
      scope: z.enum(["own", "acting"]).default("own").openapi({ description: '"acting": a partner\'s calls on behalf of others (by customer), never a customer\'s own calls' }),
    }),
  },
  responses: {
    200: jsonAnswer(
      z.object({
        tenant: z.string(),
        items: z.array(RollupRowSchema),
        limits: z.record(z.string(), z.unknown()),
        currentPeriod: z
          .object({ tenant: z.string(), period: z.string(), writtenAt: z.string(), surfaces: z.array(RollupRowSchema) })
          .nullable()
          .openapi({ description: "this month's rows from the tenant's KV summary, rewritten by every usage read (this one included) and by the limiter's own flushes about once a minute" }),
      }),
      "usage and limits",
    ),
    ...problemResponses,
  },
});

const usageRouter = router();
usageRouter.use("/usage", tenantAuth);

export const ownUsageRoutes = usageRouter.openapi(getOwnUsage, async (c) => {
  const { tenantId, keyId } = c.get("principal");
  const q = c.req.valid("query");
  // A key never reads another tenant's rows, whatever the query says; 404 does not confirm it exists.
  if (q.tenant !== undefined && q.tenant !== tenantId) throw problem("not-found", { detail: "No such tenant for this key." });
  const acting = q.scope === "acting";
  const filter = acting ? { ...filterOf(q, undefined), actingFor: tenantId } : filterOf(q, tenantId);
  const limiter = limiterOf(c.env, tenantId);
  const denied = await limiter.checkKey(keyId);
  if (denied) throw problem(denied.code, { detail: denied.detail });
  if (acting) await flushUsage(c.env, tenantId, { withCustomers: true });
  else await limiter.flush();
  const rows = await queryRollups(c.env.DB, filter);
  if (q.format === "csv") {
    const names = new Map([[tenantId, null]]);
    return c.body(rollupCsv(rows, names), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="tollgate-usage-${tenantId}-${q.granularity}.csv"`,
    }) as never; // CSV is documented by the route; zod-openapi types only its JSON answer
  }
  const snapshot = await new CatalogStore(c.env.DB, c.env.CACHE, c.get("clock")).current();
  const tenant = await limiter.getTenant();
  const limits = snapshot && tenant ? await limiter.limits(callableTerms(snapshot.catalog, tenant)) : {};
  const currentPeriod = await readUsageSummary(c.env.CACHE, tenantId, c.get("clock").now());
  return c.json({ tenant: tenantId, items: rows, limits, currentPeriod }, 200);
});
