// Charged requests as CloudEvents 1.0 (CONTRACT §10), the way an OpenMeter-style collector ingests
// them: one structured event per request that was charged (`charged`, or `unsettled`: settled at
// its lease's end), read from the per-request rows (`usage_requests`, kept REQUEST_RETENTION_DAYS).
// The id is the request id, so re-reading a range gives the same ids and a collector deduplicates.
// Each accepted report of units after the fact (CONTRACT §11) is a row too (`request_id`
// "report:<id>", outcome `reported`, `at` its time): it becomes an event of type
// `tollgate.usage.reported` with that id, so a report counted once is one event.
// Built with the `cloudevents` SDK, which validates each event against the spec as it is made.
import { z } from "@hono/zod-openapi";
import type { UsageRequestRow } from "./requests";
import { CloudEvent } from "cloudevents";
import { formatMoney } from "../pricing/money";

export const CLOUDEVENTS_BATCH = "application/cloudevents-batch+json";
export const REQUEST_EVENT_TYPE = "tollgate.request";
export const REPORTED_EVENT_TYPE = "tollgate.usage.reported";
/**
 * The gateway as a URI-reference. Constant rather than the host the export was read through, so
 * that (source, id) — what collectors deduplicate on — stays the same whichever hostname reads it.
 */
export const EVENT_SOURCE = "/tollgate";

export const RequestEventData = z
  .object({
    surface: z.string(),
    units: z.number().int(),
    cost: z.string().openapi({ description: "decimal string in the catalog's currency" }),
    incentives: z.array(z.string()),
    actor: z.string().openapi({ description: "who made the call: the tenant, or a partner on its behalf" }),
    payer: z.string().openapi({ description: "who pays for it: the tenant, or the partner" }),
  })
  .openapi("RequestEventData");
export type RequestEventData = z.infer<typeof RequestEventData>;

/** A structured CloudEvent (spec 1.0) of one `type` around its `data`: the envelope both kinds share. */
const cloudEvent = <T extends string, D extends z.ZodType>(type: T, idMeaning: string, timeMeaning: string, data: D) =>
  z.object({
    specversion: z.literal("1.0"),
    type: z.literal(type),
    source: z.string(),
    id: z.string().openapi({ description: idMeaning }),
    subject: z.string().openapi({ description: "the tenant" }),
    time: z.string().openapi({ description: timeMeaning }),
    datacontenttype: z.literal("application/json"),
    data,
  });

export const RequestCloudEvent = cloudEvent(REQUEST_EVENT_TYPE, "the request id (Tollgate-Request-Id)", "RFC 3339: when the request was admitted", RequestEventData).openapi("RequestCloudEvent");
export type RequestCloudEvent = z.infer<typeof RequestCloudEvent>;

export const ReportedEventData = z
  .object({
    surface: z.string(),
    units: z.number().int(),
    cost: z.string().openapi({ description: "decimal string in the catalog's currency" }),
    actor: z.string().openapi({ description: "who made the call the units belong to: the tenant, or a partner on its behalf" }),
    payer: z.string().openapi({ description: "who pays for them: the tenant, or the partner" }),
    requestId: z.string().optional().openapi({ description: "the forwarded request the report named, if it named one" }),
  })
  .openapi("ReportedEventData");
export type ReportedEventData = z.infer<typeof ReportedEventData>;

export const ReportedCloudEvent = cloudEvent(REPORTED_EVENT_TYPE, "`report:` + the reporter's event id", "RFC 3339: the report's `time` (the hour its units count in)", ReportedEventData).openapi("ReportedCloudEvent");
export type ReportedCloudEvent = z.infer<typeof ReportedCloudEvent>;

export const UsageCloudEvent = z.union([RequestCloudEvent, ReportedCloudEvent]);
export type UsageCloudEvent = z.infer<typeof UsageCloudEvent>;

type RequestRow = Pick<UsageRequestRow, "tenant" | "request_id" | "at" | "surface" | "actor" | "payer" | "units" | "cost" | "incentives" | "outcome"> & { origin: string | null };

export interface EventsFilter {
  tenant?: string | undefined;
  from?: number | undefined; // ms, inclusive
  to?: number | undefined; // ms, exclusive
  after?: Cursor | undefined;
  limit: number;
}

/** Where a page ended: the last event's (at, tenant, request id), the order events are read in. */
export type Cursor = [at: number, tenant: string, requestId: string];

export const encodeCursor = (c: Cursor) => btoa(JSON.stringify(c)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

export function decodeCursor(text: string): Cursor | undefined {
  try {
    const value: unknown = JSON.parse(atob(text.replaceAll("-", "+").replaceAll("_", "/")));
    const parsed = z.tuple([z.number().int(), z.string(), z.string()]).safeParse(value);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The charged requests and accepted reports of the filter, oldest first, at most `limit`. */
export async function chargedRequests(db: D1Database, f: EventsFilter): Promise<RequestRow[]> {
  const where = ["(outcome IN ('charged', 'unsettled') AND (cost > 0 OR units > 0) OR outcome = 'reported')"];
  const args: (string | number)[] = [];
  if (f.tenant !== undefined) (where.push("tenant = ?"), args.push(f.tenant));
  if (f.from !== undefined) (where.push("at >= ?"), args.push(f.from));
  if (f.to !== undefined) (where.push("at < ?"), args.push(f.to));
  if (f.after !== undefined) (where.push("(at, tenant, request_id) > (?, ?, ?)"), args.push(...f.after));
  const { results } = await db
    .prepare(`SELECT tenant, request_id, at, surface, actor, payer, units, cost, incentives, outcome, origin_request AS origin FROM usage_requests WHERE ${where.join(" AND ")} ORDER BY at, tenant, request_id LIMIT ?`)
    .bind(...args, f.limit)
    .all<RequestRow>();
  return results;
}

/** One row's CloudEvent: a charged request's, or an accepted report's. */
export const usageEvent = (row: RequestRow): UsageCloudEvent => (row.outcome === "reported" ? reportedEvent(row) : requestEvent(row));

/** A row's CloudEvent of `type` around `data`, built by the SDK, which throws a ValidationError if it breaks the spec. */
function envelope<T>(type: string, row: RequestRow, data: T): Record<string, unknown> {
  const event = new CloudEvent<T>({
    specversion: "1.0",
    type,
    source: EVENT_SOURCE,
    id: row.request_id,
    subject: row.tenant,
    time: new Date(row.at).toISOString(),
    datacontenttype: "application/json",
    data,
  });
  return event.toJSON();
}

/** One accepted report's CloudEvent; the SDK throws a ValidationError if it breaks the spec. */
export function reportedEvent(row: RequestRow): ReportedCloudEvent {
  const data: ReportedEventData = {
    surface: row.surface,
    units: row.units,
    cost: formatMoney(row.cost),
    actor: row.actor,
    payer: row.payer,
    ...(row.origin !== null && { requestId: row.origin }),
  };
  return envelope(REPORTED_EVENT_TYPE, row, data) as ReportedCloudEvent;
}

/** One request's CloudEvent; the SDK throws a ValidationError if it breaks the spec. */
export function requestEvent(row: RequestRow): RequestCloudEvent {
  const data: RequestEventData = {
    surface: row.surface,
    units: row.units,
    cost: formatMoney(row.cost),
    incentives: row.incentives === null ? [] : (JSON.parse(row.incentives) as string[]),
    actor: row.actor,
    payer: row.payer,
  };
  return envelope(REQUEST_EVENT_TYPE, row, data) as RequestCloudEvent;
}
