// GET /_tollgate/admin/usage (JSON or CSV, CONTRACT §5), GET /usage/export (Stripe meter events)
// and GET /usage/events (CloudEvents) — CONTRACT §10.
import { createRoute, z } from "@hono/zod-openapi";
import { serializeList, type Item } from "structured-headers";
import { chargedRequests, CLOUDEVENTS_BATCH, decodeCursor, encodeCursor, UsageCloudEvent, usageEvent } from "../metering/cloudevents";
import { rollupCsv } from "../metering/csv";
import { flushUsage } from "../metering/read-your-writes";
import { byEventOrder, eventOf, type NegativeDifference, oldestExportableHour, planExport, readLedger, recordExport, toNdjson } from "../metering/stripe-export";
import { problem } from "../problems";
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

const instant = z.iso.datetime({ offset: true }).or(z.iso.date()).openapi({ example: "2026-11-01T00:00:00Z" });
const hourList = (description: string) => ({ description, schema: { type: "string" as const } });

const exportUsage = createRoute({
  operationId: "exportUsage",
  method: "get",
  path: "/usage/export",
  summary: "Closed hours of usage as Stripe Billing meter events (NDJSON), each payer × surface × hour once, and corrections of exported hours that received late units: the gateway remembers what it exported",
  request: {
    query: z.object({
      format: z.literal("stripe"),
      from: instant.optional().openapi({ description: "hours starting at or after this; default: the oldest hour Stripe accepts (35 days ago)" }),
      to: instant.optional().openapi({ description: "hours starting before this; default: now (hours still open are never exported)" }),
      value: z.enum(["units", "cost"]).default("units").openapi({ description: "units charged, or cost in integer micro-units of the currency" }),
      again: z.enum(["true", "false"]).default("false").openapi({ description: "also re-send the hours already exported — originals and corrections — with the same identifiers and values" }),
    }),
  },
  responses: {
    200: {
      description: "one meter event per line",
      headers: {
        "Tollgate-Export-Hours": hourList("structured-field list (RFC 8941) of the ISO-8601 starts of the hours this answer sends events for (originals and corrections); empty when it sends none"),
        "Tollgate-Export-Too-Old": hourList("structured-field list of the starts of hours with unexported usage, or an exported hour's correction, that Stripe no longer accepts (older than 35 days): not sent"),
        "Tollgate-Export-Negative": hourList(
          "structured-field list of the starts of exported hours whose value is now below what was sent (a refund after the export), each with parameters `payer`, `surface` and `difference` (negative): a meter event cannot be negative, so nothing is sent for them",
        ),
        "Tollgate-Skipped-Tenants": hourList("comma-separated payers with usage but no billing.stripeCustomerId: not sent"),
      },
      content: { "application/x-ndjson": { schema: z.string() } },
    },
    ...problemResponses,
  },
});

const exportEvents = createRoute({
  operationId: "exportUsageEvents",
  method: "get",
  path: "/usage/events",
  summary: "Charged requests and accepted usage reports as CloudEvents 1.0 (a JSON batch), oldest first; ids are request ids and report:<id>, so re-reads deduplicate",
  request: {
    query: z.object({
      format: z.literal("cloudevents"),
      tenant: z.string().optional().openapi({ description: "only this tenant's requests (its own and those partners made on its behalf)" }),
      from: instant.optional().openapi({ description: "requests at or after this (per-request rows are kept 7 days)" }),
      to: instant.optional().openapi({ description: "requests before this" }),
      limit: z.coerce.number().int().min(1).max(5000).default(1000),
      cursor: z.string().optional().openapi({ description: "from the previous page's Link header" }),
    }),
  },
  responses: {
    200: {
      description: "one structured CloudEvent per charged request (`tollgate.request`) and per accepted report (`tollgate.usage.reported`); the next page is in `Link: <…>; rel=\"next\"`",
      headers: { Link: { description: "the next page, when this one is full", schema: { type: "string" as const } } },
      content: { [CLOUDEVENTS_BATCH]: { schema: z.array(UsageCloudEvent) } },
    },
    ...problemResponses,
  },
});

const invalidRange = () => problem("invalid-request", { detail: "`from` must be before `to`.", errors: [{ path: "/from", message: "must be before to" }] });
const hoursHeader = (hours: string[]) => serializeList(hours.map((h): Item => [h, new Map()]));
const negativeHeader = (lines: NegativeDifference[]) =>
  serializeList(
    lines.map(
      (n): Item => [
        n.hour,
        new Map<string, string | number>([
          ["payer", n.payer],
          ["surface", n.surface],
          ["difference", n.difference],
        ]),
      ],
    ),
  );

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
    // A GET, but it records the hours it hands out in the export ledger (later exports skip them):
    // a read-only token could make billing miss hours, so it needs `write`.
    if (!c.get("adminPrincipal").scopes.includes("write")) {
      throw problem("forbidden", { detail: "The Stripe export records what it sends in the export ledger, so it needs an admin token with the `write` scope." });
    }
    const q = c.req.valid("query");
    const now = c.get("clock").now();
    const from = new Date(q.from ?? oldestExportableHour(now)).toISOString();
    const to = new Date(q.to ?? now).toISOString();
    if (from >= to) throw invalidRange();
    await flushUsage(c.env);
    const rows = await queryRollups(c.env.DB, { granularity: "hour", from, to });
    const ledger = await readLedger(c.env.DB, q.value, from, to);
    const plan = await planExport(rows, ledger, await stripeCustomers(c.env.DB), { kind: q.value, again: q.again === "true", now });
    const recorded = await recordExport(c.env.DB, plan.fresh, now);
    const sent = [...plan.resend, ...recorded].sort(byEventOrder);
    return c.body(toNdjson(sent.map(eventOf)), 200, {
      "Content-Type": "application/x-ndjson",
      "Content-Disposition": `attachment; filename="tollgate-stripe-${q.value}.ndjson"`,
      "Tollgate-Export-Hours": hoursHeader([...new Set(sent.map((e) => e.hour))].sort()),
      ...(plan.tooOld.length > 0 && { "Tollgate-Export-Too-Old": hoursHeader(plan.tooOld) }),
      ...(plan.negative.length > 0 && { "Tollgate-Export-Negative": negativeHeader(plan.negative) }),
      ...(plan.skippedTenants.length > 0 && { "Tollgate-Skipped-Tenants": plan.skippedTenants.join(", ") }),
    }) as never; // NDJSON is not a response type zod-openapi types; the route documents it
  })
  .openapi(exportEvents, async (c) => {
    const q = c.req.valid("query");
    const from = q.from === undefined ? undefined : Date.parse(q.from);
    const to = q.to === undefined ? undefined : Date.parse(q.to);
    if (from !== undefined && to !== undefined && from >= to) throw invalidRange();
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    if (q.cursor !== undefined && after === undefined) throw problem("invalid-request", { detail: "`cursor` is not one this endpoint gave out.", errors: [{ path: "/cursor", message: "unknown cursor" }] });
    await flushUsage(c.env, q.tenant);
    const rows = await chargedRequests(c.env.DB, { tenant: q.tenant, from, to, after, limit: q.limit });
    if (rows.length === q.limit) {
      const last = rows.at(-1)!;
      const next = new URL(c.req.url);
      next.searchParams.set("cursor", encodeCursor([last.at, last.tenant, last.request_id]));
      c.header("Link", `<${next.pathname}${next.search}>; rel="next"`);
    }
    return c.body(JSON.stringify(rows.map(usageEvent)), 200, { "Content-Type": CLOUDEVENTS_BATCH }) as never; // the route documents the batch type
  });

/** Payer → Stripe customer id, for the tenants whose billing names one. */
async function stripeCustomers(db: D1Database): Promise<Map<string, string>> {
  const { results } = await db.prepare("SELECT id, billing FROM tenants WHERE billing IS NOT NULL").all<{ id: string; billing: string }>();
  const customers = new Map<string, string>();
  for (const r of results) {
    const id = (JSON.parse(r.billing) as { stripeCustomerId?: string }).stripeCustomerId;
    if (id) customers.set(r.id, id);
  }
  return customers;
}
