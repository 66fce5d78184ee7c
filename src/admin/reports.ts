// POST /_tollgate/admin/usage/reports (CONTRACT §11): an origin reports outcomes known only after
// the answer — the rows an export job wrote, the bytes a sync moved. Each event is checked on its
// own (a bad one is rejected with its code, the others count); the accepted ones go to their
// tenants' limiters, which price them, count them against the quota of their time and roll them
// up in their hour, idempotent by the reporter's id.
import { createRoute, z } from "@hono/zod-openapi";
import { CatalogStore } from "../catalog/store";
import { surfaceTerms, type SurfaceTerms } from "../limiter/policy";
import type { Attribution, ReportedUnits } from "../limiter/protocol";
import { limiterOf } from "../limiter/stub";
import { flushUsage } from "../metering/read-your-writes";
import { MAX_COUNTED_UNITS } from "../pricing/bounds";
import type { UsageRequestRow } from "../metering/requests";
import { jsonAnswer, jsonBody, problemContent, problemResponses, router } from "../routes";
import { problem } from "../problems";

/** How far back a report's time may lie (CONTRACT §11 LATE_USAGE_DAYS), and how far ahead. */
export const LATE_USAGE_DAYS = 35;
const AHEAD_MS = 5 * 60 * 1000;
const DAY_MS = 86_400_000;
export const MAX_REPORTS_PER_CALL = 1000;

export const ReportEvent = z
  .object({
    id: z.string().min(1).max(255).openapi({ description: "the reporter's own id: a repeat within LATE_USAGE_DAYS is a duplicate", example: "export:job_42" }),
    // Checked per event (invalid-units), so one bad number does not refuse the batch.
    units: z.unknown().openapi({ description: "a non-negative integer", example: 12400 }),
    requestId: z.string().min(1).max(100).optional().openapi({ description: "the Tollgate-Request-Id of the request whose outcome this is" }),
    tenant: z.string().min(1).max(64).optional(),
    surface: z.string().min(1).max(64).optional(),
    time: z.iso.datetime({ offset: true }).optional().openapi({ description: "when the outcome happened (default: the request's time, else now)" }),
  })
  .openapi("ReportEvent");

export const ReportBody = z.strictObject({ events: z.array(ReportEvent).min(1).max(MAX_REPORTS_PER_CALL) }).openapi("UsageReports");

export const REPORT_REJECTIONS = ["unknown-tenant", "unknown-surface", "unknown-request", "not-reported", "out-of-window", "invalid-units"] as const;
type Rejection = (typeof REPORT_REJECTIONS)[number];

export const ReportAnswer = z
  .object({
    accepted: z.number().int(),
    duplicates: z.array(z.string()),
    rejected: z.array(z.object({ id: z.string(), code: z.enum(REPORT_REJECTIONS), detail: z.string() })),
  })
  .openapi("UsageReportsAnswer");

const reportRoute = createRoute({
  operationId: "reportUsage",
  method: "post",
  path: "/usage/reports",
  summary: "Report outcomes known after the answer (root token or an admin token with the `report` scope); each event accepted, a duplicate, or rejected with its code",
  request: { body: jsonBody(ReportBody) },
  responses: { 200: jsonAnswer(ReportAnswer, "what became of each event"), ...problemResponses, 403: { description: "forbidden: the token lacks the `report` scope", content: problemContent }, 503: { description: "limiter-unavailable: a tenant's limiter could not take its events (the others were counted); send the same batch again", content: problemContent } },
});

type RequestRow = Pick<UsageRequestRow, "tenant" | "request_id" | "at" | "surface" | "actor" | "payer" | "signals" | "catalog_version">;

async function requestRows(db: D1Database, ids: string[]): Promise<Map<string, RequestRow>> {
  const found = new Map<string, RequestRow>();
  for (let i = 0; i < ids.length; i += 100) {
    const slice = ids.slice(i, i + 100);
    const { results } = await db
      .prepare(`SELECT tenant, request_id, at, surface, actor, payer, signals, catalog_version FROM usage_requests WHERE request_id IN (${slice.map(() => "?").join(", ")}) AND request_id NOT LIKE 'report:%'`)
      .bind(...slice)
      .all<RequestRow>();
    for (const r of results) found.set(r.request_id, r);
  }
  return found;
}

export const reportRoutes = router().openapi(reportRoute, async (c) => {
  const { events } = c.req.valid("json");
  const now = c.get("clock").now();
  const snapshot = await new CatalogStore(c.env.DB, c.env.CACHE, c.get("clock")).current();
  const rejected: z.infer<typeof ReportAnswer>["rejected"] = [];
  const reject = (id: string, code: Rejection, detail: string) => void rejected.push({ id, code, detail });

  // The originating requests: flushed first when a report names one not yet in D1 (a report can
  // follow its request within the limiter's flush delay).
  const named = [...new Set(events.flatMap((e) => (e.requestId ? [e.requestId] : [])))];
  let rows = await requestRows(c.env.DB, named);
  const missing = named.filter((id) => !rows.has(id));
  if (missing.length > 0) {
    const tenants = [...new Set(events.filter((e) => e.requestId && missing.includes(e.requestId) && e.tenant).map((e) => e.tenant!))];
    if (tenants.length > 0 && tenants.length === new Set(events.filter((e) => e.requestId && missing.includes(e.requestId)).map((e) => e.tenant ?? "")).size) {
      for (const t of tenants) await flushUsage(c.env, t);
    } else await flushUsage(c.env);
    rows = await requestRows(c.env.DB, named);
  }
  const tenantIds = [...new Set(events.flatMap((e) => [e.tenant, e.requestId ? rows.get(e.requestId)?.tenant : undefined]).filter((t): t is string => t !== undefined))];
  const live = new Set<string>();
  for (let i = 0; i < tenantIds.length; i += 100) {
    const slice = tenantIds.slice(i, i + 100);
    const { results } = await c.env.DB.prepare(`SELECT id FROM tenants WHERE deleted_at IS NULL AND id IN (${slice.map(() => "?").join(", ")})`).bind(...slice).all<{ id: string }>();
    for (const r of results) live.add(r.id);
  }

  const byTenant = new Map<string, { terms: Record<string, SurfaceTerms>; reports: ReportedUnits[] }>();
  const inBatch = new Set<string>();
  const duplicates: string[] = [];
  for (const e of events) {
    if (inBatch.has(e.id)) {
      duplicates.push(e.id);
      continue;
    }
    inBatch.add(e.id);
    if (typeof e.units !== "number" || !Number.isSafeInteger(e.units) || e.units < 0 || e.units > MAX_COUNTED_UNITS) {
      reject(e.id, "invalid-units", `units must be an integer from 0 to ${MAX_COUNTED_UNITS}.`);
      continue;
    }
    let tenant: string;
    let surface: string;
    let time: number;
    let origin: RequestRow | undefined;
    if (e.requestId) {
      origin = rows.get(e.requestId);
      if (!origin) {
        reject(e.id, "unknown-request", `No request "${e.requestId}" in the last 7 days (Tollgate-Request-Id of a forwarded request).`);
        continue;
      }
      if (e.tenant !== undefined && e.tenant !== origin.tenant) {
        reject(e.id, "unknown-request", `Request "${e.requestId}" is not tenant "${e.tenant}"'s.`);
        continue;
      }
      tenant = origin.tenant;
      surface = origin.surface;
      time = e.time === undefined ? origin.at : Date.parse(e.time);
    } else {
      if (e.tenant === undefined || e.surface === undefined) {
        reject(e.id, "unknown-request", "Name the request (`requestId`), or the `tenant` and `surface`.");
        continue;
      }
      tenant = e.tenant;
      surface = e.surface;
      time = e.time === undefined ? now : Date.parse(e.time);
    }
    if (!live.has(tenant)) {
      reject(e.id, "unknown-tenant", `No tenant "${tenant}".`);
      continue;
    }
    const entry = snapshot?.catalog.surfaces[surface];
    if (!snapshot || !entry) {
      reject(e.id, "unknown-surface", `No surface "${surface}" in the current catalog.`);
      continue;
    }
    if (entry.meter.count.from !== "reported") {
      reject(e.id, "not-reported", `Surface "${surface}" counts ${entry.meter.count.from}, not reported units.`);
      continue;
    }
    if (time < now - LATE_USAGE_DAYS * DAY_MS || time > now + AHEAD_MS) {
      reject(e.id, "out-of-window", `time must lie within the last ${LATE_USAGE_DAYS} days and at most 5 minutes ahead.`);
      continue;
    }
    const attribution: Attribution | null = origin && origin.actor !== origin.tenant ? { actor: origin.actor, payer: origin.payer, sharePpm: 0 } : null;
    let batch = byTenant.get(tenant);
    if (!batch) byTenant.set(tenant, (batch = { terms: {}, reports: [] }));
    batch.terms[surface] ??= surfaceTerms(snapshot.catalog, surface);
    batch.reports.push({ id: e.id, surface, units: e.units, time, catalogVersion: snapshot.version, ...(origin && { requestId: origin.request_id, signals: origin.signals }), attribution });
  }

  let accepted = 0;
  const failed: string[] = [];
  const tenants = [...byTenant.entries()];
  for (let i = 0; i < tenants.length; i += 10) {
    const answers = await Promise.allSettled(tenants.slice(i, i + 10).map(([tenant, batch]) => limiterOf(c.env, tenant).report(batch)));
    for (const [j, a] of answers.entries()) {
      if (a.status === "rejected") {
        console.error("limiter failed while taking a report", tenants[i + j]![0], a.reason);
        failed.push(tenants[i + j]![0]);
        continue;
      }
      accepted += a.value.accepted.length;
      duplicates.push(...a.value.duplicates);
    }
  }
  // Every tenant's batch was tried; those whose limiter took it are counted (and come back as
  // duplicates when the reporter sends the same batch again), the others are not: 503, retry.
  if (failed.length > 0) {
    throw problem("limiter-unavailable", {
      detail: `The limiter of ${failed.length === 1 ? "tenant" : "tenants"} ${failed.map((t) => `"${t}"`).join(", ")} could not take its events. Send the same batch again: events already accepted come back as duplicates and count once.`,
      retryAfter: 1,
    });
  }
  // In the order the events came, as the reporter reads them.
  const order = new Map(events.map((e, i) => [e.id, i] as const));
  duplicates.sort((a, b) => order.get(a)! - order.get(b)!);
  return c.json({ accepted, duplicates, rejected }, 200);
});
