// RateLimit-Policy / RateLimit (draft-ietf-httpapi-ratelimit-headers-11) and Tollgate-* response
// headers, serialised with a structured-field library (CONTRACT §3).
import { DisplayString, serializeList, type Item, type Parameters } from "structured-headers";
import type { Meter } from "../catalog/schema";
import type { SurfaceLimits } from "../limiter/tenant-limiter";
import type { QuotaPeriod } from "../catalog/schema";
import { nominalSeconds } from "../limiter/quota-period";
import { formatMoney } from "../pricing/money";

/** An sf-string holds printable ASCII only; any other unit (e.g. "événement") is a display string (RFC 9651). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Meter units registered by the draft; any other unit goes in the vendor parameter `tg-unit`. */
function unitParameters(unit: string): [string, string | DisplayString][] {
  const word = unit.toLowerCase();
  if (word === "request" || word === "requests") return []; // "requests" is the draft's default
  if (word === "byte" || word === "bytes" || word === "content-bytes") return [["qu", "content-bytes"]];
  return [["tg-unit", PRINTABLE_ASCII.test(unit) ? unit : new DisplayString(unit)]];
}

const item = (name: string, params: [string, string | number | DisplayString][]): Item => [name, new Map(params) as Parameters];

/** RateLimit-Policy values by the limits' terms: they change only with the plan, so each is serialised once per isolate. */
const policyValues = new Map<string, string>();

function policyValue(limits: SurfaceLimits, meter: Meter): string {
  const key = `${limits.rate?.limit}/${limits.rate?.window}|${limits.quota?.limit}/${limits.quota?.period}/${meter.unit}|${limits.concurrency?.limit}`;
  let value = policyValues.get(key);
  if (value === undefined) {
    const policies: Item[] = [];
    if (limits.rate) policies.push(item("rate", [["q", limits.rate.limit], ["w", Math.max(1, Math.ceil(limits.rate.window))]]));
    if (limits.quota) policies.push(item("quota", [["q", limits.quota.limit], ["w", nominalSeconds[limits.quota.period as QuotaPeriod]], ...unitParameters(meter.unit)]));
    if (limits.concurrency) policies.push(item("concurrency", [["q", limits.concurrency.limit], ["qu", "concurrent-requests"]]));
    if (policyValues.size >= 1000) policyValues.clear();
    policyValues.set(key, (value = serializeList(policies)));
  }
  return value;
}

/** The RateLimit-Policy and RateLimit values of `limits` ([policy, state]), or null when it has no limit. */
export function rateLimitValues(limits: SurfaceLimits, meter: Meter): readonly [string, string] | null {
  const states: Item[] = [];
  if (limits.rate) states.push(item("rate", [["r", limits.rate.remaining], ["t", limits.rate.reset]]));
  if (limits.quota) states.push(item("quota", [["r", limits.quota.remaining], ["t", limits.quota.reset]]));
  if (limits.concurrency) states.push(item("concurrency", [["r", Math.max(0, limits.concurrency.limit - limits.concurrency.inFlight)]]));
  if (states.length === 0) return null;
  return [policyValue(limits, meter), serializeList(states)];
}

/** The RateLimit-Policy and RateLimit headers of `limits` (or of their `values`), set on `into` (a new Headers by default). */
export function rateLimitHeaders(limits: SurfaceLimits, meter: Meter, into: Headers = new Headers(), values = rateLimitValues(limits, meter)): Headers {
  if (values === null) return into;
  into.set("RateLimit-Policy", values[0]);
  into.set("RateLimit", values[1]);
  return into;
}

export interface Outcome {
  requestId: string;
  surface?: string;
  units?: number;
  cost?: number; // micro-units
  incentives?: string[];
  /** The paying tenant of a delegated call (CONTRACT §7). */
  payer?: string;
  /** Issue 12: the limits a shadow rule would have refused the request for. */
  shadow?: string[];
  /** Issue 12: Deprecation, Sunset and Link of a deprecated surface. */
  lifecycle?: [string, string][];
}

/** Tollgate-* headers of every response to an authenticated request. */
export function tollgateHeaders(o: Outcome, into: Headers = new Headers()): Headers {
  into.set("Tollgate-Request-Id", o.requestId);
  if (o.surface !== undefined) into.set("Tollgate-Surface", o.surface);
  if (o.units !== undefined) into.set("Tollgate-Units", String(o.units));
  if (o.cost !== undefined) into.set("Tollgate-Cost", formatMoney(o.cost));
  if (o.incentives && o.incentives.length > 0) into.set("Tollgate-Incentives", o.incentives.join(", "));
  if (o.payer !== undefined) into.set("Tollgate-Payer", o.payer);
  if (o.shadow && o.shadow.length > 0) into.set("Tollgate-Shadow", o.shadow.join(", "));
  for (const [name, value] of o.lifecycle ?? []) into.set(name, value);
  return into;
}
