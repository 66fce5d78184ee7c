// GET /_tollgate/admin/surfaces/:id/callers (issue 12): who still calls a surface — for retiring it
// politely: deprecate, watch the callers thin out, then sunset.
import { createRoute, z } from "@hono/zod-openapi";
import { flushUsage } from "../metering/read-your-writes";
import { problem } from "../problems";
import { jsonAnswer, problemResponses, router } from "../routes";

const DAY_MS = 86_400_000;
const instant = z.iso.datetime({ offset: true }).or(z.iso.date());

const Caller = z
  .object({
    tenant: z.string(),
    actor: z.string().openapi({ description: "who made the calls: the tenant itself, or a partner on its behalf" }),
    requests: z.number().int(),
    charged: z.number().int(),
    rejected: z.number().int(),
    lastSeen: z.string().openapi({ description: "the start of the last hour with a call" }),
  })
  .openapi("SurfaceCaller");

const callers = createRoute({
  operationId: "listSurfaceCallers",
  method: "get",
  path: "/surfaces/{id}/callers",
  summary: "Who called a surface (by tenant and actor) between from and to (default: the last 30 days)",
  request: {
    params: z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "events.feed" }) }),
    query: z.object({ from: instant.optional(), to: instant.optional() }),
  },
  responses: { 200: jsonAnswer(z.object({ surface: z.string(), from: z.string(), to: z.string(), items: z.array(Caller) }), "the callers, most requests first"), ...problemResponses },
});

export const surfaceRoutes = router().openapi(callers, async (c) => {
  const surface = c.req.valid("param").id;
  const q = c.req.valid("query");
  const now = c.get("clock").now();
  const to = q.to === undefined ? new Date(now + 1).toISOString() : new Date(q.to).toISOString();
  const from = q.from === undefined ? new Date(Date.parse(to) - 30 * DAY_MS).toISOString() : new Date(q.from).toISOString();
  if (from >= to) throw problem("invalid-request", { detail: "`from` must be before `to`.", errors: [{ path: "/from", message: "must be before to" }] });
  await flushUsage(c.env);
  const { results } = await c.env.DB.prepare(
    `SELECT tenant, actor, SUM(requests) AS requests, SUM(charged) AS charged, SUM(rejected) AS rejected, MAX(period_start) AS lastSeen
     FROM usage_rollups WHERE surface = ? AND granularity = 'hour' AND period_start >= ? AND period_start < ? AND requests > 0
     GROUP BY tenant, actor ORDER BY requests DESC, tenant, actor`,
  )
    .bind(surface, new Date(Math.floor(Date.parse(from) / 3_600_000) * 3_600_000).toISOString(), to)
    .all<z.infer<typeof Caller>>();
  return c.json({ surface, from, to, items: results }, 200);
});
