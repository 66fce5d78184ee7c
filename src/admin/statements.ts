// GET /_tollgate/admin/statements: every tenant's statement of a period (CONTRACT §7), as JSON or CSV.
import { createRoute, z } from "@hono/zod-openapi";
import { flushUsage } from "../metering/read-your-writes";
import { PeriodQuery, statementsCsv, statementsOf, StatementsSchema } from "../metering/statements";
import { jsonAnswer, problemResponses, router } from "../routes";

const listStatements = createRoute({
  operationId: "listStatements",
  method: "get",
  path: "/statements",
  summary: "Charges per payer, partner earnings and platform net of a month; the books balance to the micro-unit",
  request: { query: z.object({ period: PeriodQuery, tenant: z.string().optional(), format: z.enum(["json", "csv"]).default("json") }) },
  responses: { 200: { description: "the statements", content: { ...jsonAnswer(StatementsSchema, "").content, "text/csv": { schema: z.string() } } }, ...problemResponses },
});

export const statementRoutes = router().openapi(listStatements, async (c) => {
  const { period, tenant, format } = c.req.valid("query");
  await flushUsage(c.env); // a statement gathers rows from every limiter its tenant was a payer or actor in
  const statements = await statementsOf(c.env.DB, period, tenant);
  if (format === "csv") {
    return c.body(statementsCsv(statements), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="tollgate-statements-${period}.csv"`,
    });
  }
  return c.json(statements, 200);
});
