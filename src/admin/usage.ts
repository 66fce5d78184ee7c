// GET /_tollgate/admin/usage (JSON or CSV) and GET /usage/export (Stripe meter events) — CONTRACT §5.
import { createRoute, z } from "@hono/zod-openapi";
import { rollupCsv } from "../metering/csv";
import { flushUsage } from "../metering/read-your-writes";
import { stripeMeterEvents, toNdjson } from "../metering/stripe-export";
import { filterOf, UsageQuery } from "../metering/usage-query";
import { queryRollups, RollupRowSchema } from "../metering/usage-rows";

export { RollupRowSchema };
import { jsonAnswer, problemResponses, router } from "../routes";

const csvContent = { "text/csv": { schema: z.string() } };

const getUsage = createRoute({
  operationId: "getUsage",
  method: "get",
  path: "/usage",
  summary: "Usage rollup rows of every tenant, as JSON or CSV (read-your-writes)",
  request: { query: UsageQuery },
  responses: { 200: { description: "rollup rows", content: { ...jsonAnswer(z.array(RollupRowSchema), "").content, ...csvContent } }, ...problemResponses },
});

const exportUsage = createRoute({
  operationId: "exportUsage",
  method: "get",
  path: "/usage/export",
  summary: "A month of usage as Stripe Billing meter events (NDJSON)",
  request: {
    query: z.object({
      period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "YYYY-MM"),
      format: z.literal("stripe"),
      value: z.enum(["units", "cost"]).default("units"),
    }),
  },
  responses: { 200: { description: "one meter event per line", content: { "application/x-ndjson": { schema: z.string() } } }, ...problemResponses },
});

async function tenantNames(db: D1Database): Promise<Map<string, string | null>> {
  const { results } = await db.prepare("SELECT id, name FROM tenants").all<{ id: string; name: string | null }>();
  return new Map(results.map((r) => [r.id, r.name]));
}

export const usageRoutes = router()
  .openapi(getUsage, async (c) => {
    const q = c.req.valid("query");
    const filter = filterOf(q, q.tenant);
    await flushUsage(c.env, q.tenant);
    const rows = await queryRollups(c.env.DB, filter);
    if (q.format === "csv") {
      return c.body(rollupCsv(rows, await tenantNames(c.env.DB)), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="tollgate-usage-${q.granularity}.csv"`,
      });
    }
    return c.json(rows, 200);
  })
  .openapi(exportUsage, async (c) => {
    const { period, value } = c.req.valid("query");
    await flushUsage(c.env);
    const start = `${period}-01T00:00:00.000Z`;
    const rows = await queryRollups(c.env.DB, { granularity: "month", from: start, to: new Date(Date.UTC(Number(period.slice(0, 4)), Number(period.slice(5)), 1)).toISOString() });
    const { results } = await c.env.DB.prepare("SELECT id, billing FROM tenants WHERE billing IS NOT NULL").all<{ id: string; billing: string }>();
    const customers = new Map<string, string>();
    for (const r of results) {
      const id = (JSON.parse(r.billing) as { stripeCustomerId?: string }).stripeCustomerId;
      if (id) customers.set(r.id, id);
    }
    const { events, skippedTenants } = await stripeMeterEvents(rows, customers, period, value);
    return c.body(toNdjson(events), 200, {
      "Content-Type": "application/x-ndjson",
      "Content-Disposition": `attachment; filename="tollgate-stripe-${period}.ndjson"`,
      ...(skippedTenants.length > 0 && { "Tollgate-Skipped-Tenants": skippedTenants.join(", ") }),
    }) as never; // NDJSON is not a response type zod-openapi types; the route documents it
  });
