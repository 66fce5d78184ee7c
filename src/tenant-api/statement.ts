// GET /_tollgate/statement: the caller's own statement of a period (CONTRACT §7) — a partner's
// earnings from the calls it made for its customers, and what it pays as payer.
import { createRoute, z } from "@hono/zod-openapi";
import { flushUsage } from "../metering/read-your-writes";
import { PeriodQuery, statementsOf, StatementSchema } from "../metering/statements";
import { jsonAnswer, problemResponses, router } from "../routes";
import { checkedCaller, tenantAuth } from "./quote";

const ownStatement = createRoute({
  operationId: "getOwnStatement",
  method: "get",
  path: "/statement",
  summary: "The caller's statement of a month: charges as payer, earnings as partner, platform net",
  security: [{ apiKey: [] }],
  request: { query: z.object({ period: PeriodQuery }) },
  responses: { 200: jsonAnswer(StatementSchema, "the statement"), ...problemResponses },
});

const statementRouter = router();
statementRouter.use("/statement", tenantAuth);

export const ownStatementRoutes = statementRouter.openapi(ownStatement, async (c) => {
  const tenantId = await checkedCaller(c);
  const { period } = c.req.valid("query");
  await flushUsage(c.env, tenantId, { withCustomers: true });
  const found = (await statementsOf(c.env.DB, period, tenantId)).items[0];
  return c.json(found ?? { tenant: tenantId, period, charges: "0", partnerEarnings: "0", platformNet: "0", lines: [] }, 200);
});

