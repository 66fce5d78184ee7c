// Step 5 (CONTRACT §3.5, §6): count units, apply incentives, charge below 500 only, keep the
// answer of an idempotent request, and answer with the Tollgate headers. The charge is settled
// before the response is returned whenever its units are known from the headers, so the answer
// carries Tollgate-Units/Cost and usage reads see it at once. Every streamed body is relayed so
// that how it ends is known: an origin that breaks it off has its charge taken back (issue 8);
// a `response-bytes` answer is charged by the bytes streamed.
import type { Meter } from "../catalog/schema";
import { IDEMPOTENCY_BODY_CAP, type StoredResponse } from "../limiter/idempotency";
import type { SettleRequest, Settlement } from "../limiter/protocol";
import { limiterOf } from "../limiter/stub";
import type { PatternSignals } from "../pricing/incentives";
import { MAX_UNITS_PER_REQUEST } from "../pricing/bounds";
import { responseUnits } from "../pricing/meters";
import { problem } from "../problems";
import type { Admission } from "./admit";
import { readUpTo, relay, type BodyEnd } from "./body";
import { mergeHeaders, rateLimitHeaders, tollgateHeaders, type Outcome } from "./headers";

export interface SettleContext {
  env: Pick<Env, "LIMITER">;
  waitUntil: (promise: Promise<unknown>) => void;
  tenantId: string;
  admission: Admission;
  outcome: Outcome;
  /** Units known before forwarding, or null. */
  knownUnits: number | null;
  /** The request carried a valid Idempotency-Key on an unsafe method. */
  idempotencyKey: boolean;
  /** The request was conditional (If-None-Match / If-Modified-Since). */
  conditional: boolean;
  /** The answer is to be kept for replay (POST/PATCH with Idempotency-Key). */
  keepResponse: boolean;
}

const RETRY_DELAYS_MS = [0, 25, 100];

/** Calls the limiter a few times; every limiter call used here is idempotent, so a retry never double charges. */
async function retried<T>(what: string, call: () => Promise<T>): Promise<T | null> {
  for (const delay of RETRY_DELAYS_MS) {
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      return await call();
    } catch (error) {
      console.error(`limiter ${what} failed`, error);
    }
  }
  return null; // the admission's lease ends and the limiter settles it (CONTRACT §6)
}

export function settleAdmission(ctx: Pick<SettleContext, "env" | "tenantId">, req: SettleRequest): Promise<Settlement | null> {
  return retried("settle", () => limiterOf(ctx.env, ctx.tenantId).settle(req));
}

const headerPairs = (headers: Headers): string[][] => [...headers];

export async function settleResponse(ctx: SettleContext, origin: Response): Promise<Response> {
  const { admission, outcome } = ctx;
  const meter: Meter = admission.policy.meter;
  const headers = new Headers(origin.headers);
  mergeHeaders(headers, rateLimitHeaders(admission.limits, meter));
  const signals: PatternSignals = { idempotencyKey: ctx.idempotencyKey, notModified: ctx.conditional && origin.status === 304 };
  const base = { admissionId: admission.admissionId, holdSlot: false, signals };
  const answer = (body: BodyInit | null) => new Response(body, { status: origin.status, statusText: origin.statusText, headers });

  if (origin.status >= 500) {
    await settleAdmission(ctx, { ...base, status: origin.status, units: null });
    tollgateHeaders({ ...outcome, units: 0, cost: 0 }, headers);
    return answer(origin.body);
  }

  // An idempotent answer is read (up to the cap) so that it can be kept for replays.
  let body: ReadableStream<Uint8Array> | ArrayBuffer | null = origin.body;
  let kept: StoredResponse | undefined;
  let bufferedBytes: number | null = null;
  if (ctx.keepResponse) {
    let read: Awaited<ReturnType<typeof readUpTo>>;
    try {
      read = origin.body ? await readUpTo(origin.body, IDEMPOTENCY_BODY_CAP) : { complete: true as const, bytes: new ArrayBuffer(0) };
    } catch {
      // Nothing has reached the client yet: the origin failed, so nothing is charged (issue 8).
      await settleAdmission(ctx, { ...base, status: 502, units: null, reason: "origin-broke-off" });
      throw problem("origin-unavailable", { detail: "The origin broke off its answer.", surface: admission.policy.surface });
    }
    if (read.complete) {
      body = origin.body ? read.bytes : null;
      bufferedBytes = read.bytes.byteLength;
      kept = { status: origin.status, statusText: origin.statusText, headers: headerPairs(origin.headers), body: read.bytes };
    } else body = read.stream;
  }
  const streamed = body instanceof ReadableStream ? body : null;
  const byBytes = meter.count.from === "response-bytes";

  const units = ctx.knownUnits ?? responseUnits(meter, origin) ?? (byBytes && bufferedBytes !== null ? streamedUnits(bufferedBytes) : null);
  if (units === null) {
    // response-bytes without Content-Length: charged when the body ends (CONTRACT §5, last paragraph).
    tollgateHeaders({ requestId: outcome.requestId, ...(outcome.surface !== undefined && { surface: outcome.surface }) }, headers);
    const relayed = relay(streamed!);
    ctx.waitUntil(relayed.ended.then((end) =>
      settleAdmission(ctx, end.kind === "broken" ? { ...base, status: 502, units: null, reason: "origin-broke-off" } : { ...base, status: origin.status, units: streamedUnits(end.bytes) }),
    ));
    return answer(relayed.stream);
  }

  // A streamed body keeps its admission open until it ends: for the concurrency slot, and for
  // response-bytes, whose charge follows the bytes actually streamed.
  const holdSlot = streamed !== null && (admission.policy.concurrency !== undefined || byBytes);
  const request: SettleRequest = { ...base, holdSlot, status: origin.status, units, ...(kept && { response: kept }) };
  const settlement = await settleAdmission(ctx, request);
  // A settlement the limiter never confirmed is charged at the end of the lease as the admission
  // priced it (CONTRACT §6): the headers say that, so they still match the rollups.
  const charged = settlement ?? provisionalSettlement(admission);
  tollgateHeaders({ ...outcome, units: charged.units, cost: charged.cost, incentives: charged.incentives }, headers);
  if (!streamed) return answer(body);

  const relayed = relay(streamed);
  ctx.waitUntil(relayed.ended.then((end) => afterBody(ctx, request, settlement !== null, units, end)));
  return answer(relayed.stream);
}

/** What the limiter will charge at the lease's end if it never hears of the response. */
function provisionalSettlement(admission: Admission): Settlement {
  const p = admission.provisional;
  return p ? { charged: true, units: p.units, cost: p.cost, savings: p.savings, incentives: p.incentives } : { charged: true, units: 0, cost: 0, savings: 0, incentives: [] };
}

/** Bytes as units: a body longer than MAX_UNITS_PER_REQUEST is charged at that bound (docs/catalog-bounds.md). */
const streamedUnits = (bytes: number) => Math.min(bytes, MAX_UNITS_PER_REQUEST);

const byBytes = (ctx: SettleContext) => ctx.admission.policy.meter.count.from === "response-bytes";

/** The body ended: free the slot, take the charge back if the origin broke it off, or charge the bytes streamed. */
async function afterBody(ctx: SettleContext, request: SettleRequest, settled: boolean, units: number, end: BodyEnd): Promise<unknown> {
  const limiter = () => limiterOf(ctx.env, ctx.tenantId);
  const id = request.admissionId;
  if (!settled) {
    // The limiter could not be told before the answer went out: tell it now, or the lease's end will.
    if (end.kind === "broken") return settleAdmission(ctx, { ...request, holdSlot: false, status: 502, units: null, reason: "origin-broke-off" });
    return settleAdmission(ctx, { ...request, holdSlot: false, units: byBytes(ctx) ? streamedUnits(end.bytes) : units });
  }
  if (end.kind === "broken") return retried("annul", () => limiter().annul(id, "origin-broke-off"));
  if (byBytes(ctx) && streamedUnits(end.bytes) !== units) {
    return retried("recharge", () => limiter().recharge(id, streamedUnits(end.bytes), request.signals));
  }
  if (request.holdSlot) return retried("release", () => limiter().release(id));
  return undefined;
}

/** A kept answer replayed: not forwarded, not charged (CONTRACT §3 Idempotency). */
export function replayResponse(stored: StoredResponse, outcome: Outcome): Response {
  const headers = new Headers(stored.headers as [string, string][]);
  headers.set("Idempotent-Replayed", "true");
  tollgateHeaders({ ...outcome, units: 0, cost: 0 }, headers);
  const body = [204, 304].includes(stored.status) ? null : stored.body;
  return new Response(body, { status: stored.status, statusText: stored.statusText, headers });
}
