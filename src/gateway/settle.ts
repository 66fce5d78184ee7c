// Step 5 (CONTRACT §3.5, §6): count units, apply incentives, charge below 500 only, keep the
// answer of an idempotent request, and answer with the Tollgate headers — with no second
// blocking limiter call. The admission already said what the request costs (a `charged`
// admission) or where it stands in its quota (a `held` one), so the Worker prices the answer's
// headers with the same pure pricing code the limiter uses; the limiter hears back only after
// the answer has ended (a held admission's settle) or when the origin failed (a refund), in
// `waitUntil`. Every streamed body is relayed so that how it ended is known: an origin that
// breaks it off is not charged (issue 8); a `response-bytes` answer is charged by the bytes
// streamed.
import type { Meter } from "../catalog/schema";
import { IDEMPOTENCY_BODY_CAP, type StoredResponse } from "../limiter/idempotency";
import type { Admitted, HeldAdmission, SettleRequest, Settlement } from "../limiter/protocol";
import { limiterOf } from "../limiter/stub";
import { MAX_COUNTED_UNITS } from "../pricing/bounds";
import { chargeFor, type Charge } from "../pricing/charge";
import type { PatternSignals } from "../pricing/incentives";
import { responseUnits } from "../pricing/meters";
import { problem } from "../problems";
import { readUpTo, relay, type BodyEnd } from "./body";
import { priceLeased, recordLeased, type Holding } from "./leases";
import { rateLimitHeaders, rateLimitValues, tollgateHeaders, type Outcome } from "./headers";

/** A request served from a lease this isolate holds: no limiter call at all (CONTRACT §6). */
export interface LeasedAdmission {
  kind: "admitted";
  mode: "leased";
  requestId: string;
  policy: HeldAdmission["policy"];
  limits: Admitted["limits"];
  holding: Holding;
}

export type Answering = Admitted | LeasedAdmission;

export interface SettleContext {
  env: Pick<Env, "LIMITER">;
  waitUntil: (promise: Promise<unknown>) => void;
  tenantId: string;
  admission: Answering;
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

/** Backoff of the off-path calls: CONTRACT §6 "retried until the limiter has it" — then the lease's end settles it. */
const RETRY_DELAYS_MS = [0, 50, 250, 1_000, 4_000];

/** Calls the limiter until it answers; every call used here is idempotent, so a retry never double charges. */
async function retried<T>(what: string, call: () => Promise<T>): Promise<T | null> {
  for (const delay of RETRY_DELAYS_MS) {
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      return await call();
    } catch (error) {
      console.error(`limiter ${what} failed`, error);
    }
  }
  return null;
}

/** What the answer's headers announce: the admission's charge, or its units priced where it stands in the quota. */
function chargeOf(admission: Answering, units: number | null, signals: PatternSignals): Charge | null {
  if (admission.mode === "charged") return admission.charge;
  if (units === null) return null;
  if (admission.mode === "leased") return priceLeased(admission.holding, units, signals);
  return chargeFor(admission.policy, units, admission.position, signals);
}

/** Answers declaring at most this many bytes are read whole before they are relayed. */
export const SMALL_BODY_BYTES = 64 * 1024;

/** Bytes as units, clamped to what any policy could charge; chargeFor applies the policy's own bound (docs/catalog-bounds.md). */
const streamedUnits = (bytes: number) => Math.min(bytes, MAX_COUNTED_UNITS);

/**
 * Tells the limiter that the request was not served: a charged admission is refunded, a held one
 * settled uncharged (its slot and idempotency key freed). Awaited where the answer has not gone
 * out yet, so a usage read right after the failure sees it.
 */
export async function settleFailure(ctx: Pick<SettleContext, "env" | "tenantId" | "admission">, status: number, reason: string, outcome: "failed" | "rejected" = "failed"): Promise<unknown> {
  const { admission } = ctx;
  const limiter = () => limiterOf(ctx.env, ctx.tenantId);
  if (admission.mode === "leased") return recordLeased(admission.holding, null);
  if (admission.mode === "charged") {
    await retried("refund", () => limiter().refund({ requestId: admission.requestId, surface: admission.policy.surface, periodStart: admission.periodStart, charge: admission.charge, status, reason, ...(admission.attribution && { attribution: admission.attribution }) }));
  } else {
    await retried("settle", () => limiter().settle({ admissionId: admission.admissionId, status, units: null, outcome, reason, signals: { idempotencyKey: false, notModified: false } }));
  }
}

function settleHeld(ctx: SettleContext, req: Omit<SettleRequest, "admissionId">): Promise<Settlement | null> {
  if (ctx.admission.mode !== "held") throw new Error("only a held admission is settled");
  const admissionId = ctx.admission.admissionId;
  return retried("settle", () => limiterOf(ctx.env, ctx.tenantId).settle({ admissionId, ...req }));
}

const headerPairs = (headers: Headers): string[][] => [...headers];

/**
 * The origin may not speak for Tollgate: its own Tollgate-* headers are dropped. The others are
 * appended, not set, so that several Set-Cookie headers all reach the client.
 */
export function originHeaders(origin: Response): Headers {
  const headers = new Headers(origin.headers); // copied natively, every Set-Cookie with it
  for (const name of [...headers.keys()]) if (name.startsWith("tollgate-")) headers.delete(name);
  return headers;
}

export async function settleResponse(ctx: SettleContext, origin: Response, serverTiming?: string): Promise<Response> {
  const { admission, outcome } = ctx;
  const meter: Meter = admission.policy.meter;
  const lease = admission.mode === "leased" ? admission.holding : null;
  if (lease && lease.rateLimit === undefined) lease.rateLimit = rateLimitValues(admission.limits, meter); // null too: no limit to announce
  const values = lease ? lease.rateLimit : undefined;
  const headers = rateLimitHeaders(admission.limits, meter, originHeaders(origin), values);
  if (serverTiming !== undefined) headers.set("Server-Timing", serverTiming);
  const signals: PatternSignals = { idempotencyKey: ctx.idempotencyKey, notModified: ctx.conditional && origin.status === 304 };
  const answer = (body: BodyInit | null) => new Response(body, { status: origin.status, statusText: origin.statusText, headers });

  if (origin.status >= 500) {
    await settleFailure(ctx, origin.status, "origin-failed");
    tollgateHeaders({ ...outcome, units: 0, cost: 0 }, headers);
    return answer(origin.body);
  }

  // An idempotent answer is read (up to the cap) so that it can be kept for replays.
  let body: ReadableStream<Uint8Array> | ArrayBuffer | null = origin.body;
  let kept: StoredResponse | undefined;
  let bufferedBytes: number | null = null;
  const declared = Number(origin.headers.get("content-length") ?? NaN);
  if (!ctx.keepResponse && origin.body && declared <= SMALL_BODY_BYTES) {
    // A small answer is read whole before it is relayed: one native read instead of a relay per
    // chunk, and an origin that breaks it off gets 502 with nothing sent (issue 8) — never a
    // broken stream to the client.
    try {
      body = await origin.arrayBuffer();
    } catch {
      await settleFailure(ctx, 502, "origin-broke-off");
      throw problem("origin-unavailable", { detail: "The origin broke off its answer.", surface: admission.policy.surface });
    }
    bufferedBytes = body.byteLength;
  }
  if (ctx.keepResponse) {
    let read: Awaited<ReturnType<typeof readUpTo>>;
    try {
      read = origin.body ? await readUpTo(origin.body, IDEMPOTENCY_BODY_CAP) : { complete: true as const, bytes: new ArrayBuffer(0) };
    } catch {
      // Nothing has reached the client yet: the origin failed, so nothing is charged (issue 8).
      await settleFailure(ctx, 502, "origin-broke-off");
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

  // The units the headers announce: known before forwarding, from the response's headers, or
  // (response-bytes without Content-Length) only when the body ends — then no header says them.
  const units = ctx.knownUnits ?? responseUnits(meter, origin) ?? (byBytes && bufferedBytes !== null ? streamedUnits(bufferedBytes) : null);
  const charge = chargeOf(admission, units, signals);
  if (charge) tollgateHeaders({ ...outcome, units: charge.units, cost: charge.cost, incentives: charge.incentives }, headers);
  else tollgateHeaders({ requestId: outcome.requestId, ...(outcome.surface !== undefined && { surface: outcome.surface }) }, headers);

  if (!streamed) {
    if (admission.mode === "held") ctx.waitUntil(settleHeld(ctx, { status: origin.status, units, signals, ...(kept && { response: kept }) }));
    if (admission.mode === "leased") recordLeased(admission.holding, charge);
    return answer(body);
  }
  // Relayed in JavaScript, not piped natively: only a reader of its own can tell an origin that
  // broke the body off (not charged) from a client that went away (charged) — see the fault tests.
  const relayed = relay(streamed);
  ctx.waitUntil(relayed.ended.then((end) => afterBody(ctx, origin.status, units, charge, signals, end)));
  return answer(relayed.stream);
}

/**
 * The answer's body ended. A charged admission hears of it only if the origin broke it off (a
 * refund); a held one is settled now: charged as announced, or by the bytes that left the
 * gateway (response-bytes), or not at all when the origin broke it off. A client that went away
 * is charged: the origin did its work.
 */
function afterBody(ctx: SettleContext, status: number, units: number | null, charge: Charge | null, signals: PatternSignals, end: BodyEnd): Promise<unknown> {
  const { admission } = ctx;
  const broken = end.kind === "broken";
  const byBytes = admission.policy.meter.count.from === "response-bytes";
  if (admission.mode === "charged") return broken ? settleFailure(ctx, 502, "origin-broke-off") : Promise.resolve();
  if (admission.mode === "leased") {
    const bytes = streamedUnits(end.bytes);
    recordLeased(admission.holding, broken ? null : byBytes && !(charge && bytes === units) ? priceLeased(admission.holding, bytes, signals) : charge);
    return Promise.resolve();
  }
  if (broken) return settleHeld(ctx, { status: 502, units: null, reason: "origin-broke-off", signals });
  return settleHeld(ctx, { status, units: byBytes ? streamedUnits(end.bytes) : units, signals });
}

/** A kept answer replayed: not forwarded, not charged (CONTRACT §3 Idempotency). */
export function replayResponse(stored: StoredResponse, outcome: Outcome): Response {
  const headers = new Headers(stored.headers as [string, string][]);
  headers.set("Idempotent-Replayed", "true");
  tollgateHeaders({ ...outcome, units: 0, cost: 0 }, headers);
  const body = [204, 304].includes(stored.status) ? null : stored.body;
  return new Response(body, { status: stored.status, statusText: stored.statusText, headers });
}
