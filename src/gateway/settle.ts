// Step 5 (CONTRACT §3.5): count units, apply incentives, charge below 500 only, keep the answer of
// an idempotent request, and answer with the Tollgate headers. The charge is settled before the
// response is returned whenever its units are known from the headers, so the answer carries
// Tollgate-Units/Cost and usage reads see it at once. A `response-bytes` answer without
// Content-Length is charged when its body ends.
import type { Meter } from "../catalog/schema";
import { IDEMPOTENCY_BODY_CAP, type StoredResponse } from "../limiter/idempotency";
import type { SettleRequest, Settlement } from "../limiter/tenant-limiter";
import type { PatternSignals } from "../pricing/incentives";
import { responseUnits } from "../pricing/meters";
import type { Admission } from "./admit";
import { limiterOf } from "./admit";
import { readUpTo } from "./body";
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

/** Settles with one retry; settling is idempotent in the limiter, so a retry never double charges. */
export async function settleAdmission(ctx: Pick<SettleContext, "env" | "tenantId">, req: SettleRequest): Promise<Settlement | null> {
  const stub = limiterOf(ctx.env, ctx.tenantId);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return await stub.settle(req);
    } catch (error) {
      console.error("settle failed", ctx.tenantId, req.admissionId, attempt, error);
    }
  }
  return null; // the admission's lease expires and releases it uncharged
}

/** Passes `body` through, counting bytes, and calls `onEnd` once when it ends or is cancelled. */
function observeBody(body: ReadableStream<Uint8Array>, waitUntil: SettleContext["waitUntil"], onEnd: (bytes: number) => Promise<unknown>) {
  let bytes = 0;
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      bytes += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  waitUntil(body.pipeTo(writable).then(
    () => onEnd(bytes),
    () => onEnd(bytes),
  ));
  return readable;
}

const headerPairs = (headers: Headers): string[][] => [...headers];

export async function settleResponse(ctx: SettleContext, origin: Response): Promise<Response> {
  const { admission, outcome } = ctx;
  const meter: Meter = admission.policy.meter;
  const headers = new Headers(origin.headers);
  mergeHeaders(headers, rateLimitHeaders(admission.limits, meter));
  const failed = (): SettleRequest => ({ admissionId: admission.admissionId, status: origin.status, units: null, holdSlot: false, signals });
  const signals: PatternSignals = { idempotencyKey: ctx.idempotencyKey, notModified: ctx.conditional && origin.status === 304 };

  if (origin.status >= 500) {
    await settleAdmission(ctx, failed());
    tollgateHeaders({ ...outcome, units: 0, cost: 0 }, headers);
    return new Response(origin.body, { status: origin.status, statusText: origin.statusText, headers });
  }

  // An idempotent answer is read (up to the cap) so that it can be kept for replays.
  let body: ReadableStream<Uint8Array> | ArrayBuffer | null = origin.body;
  let kept: StoredResponse | undefined;
  let bufferedBytes: number | null = null;
  if (ctx.keepResponse) {
    const read = origin.body ? await readUpTo(origin.body, IDEMPOTENCY_BODY_CAP) : { complete: true as const, bytes: new ArrayBuffer(0) };
    if (read.complete) {
      body = origin.body ? read.bytes : null;
      bufferedBytes = read.bytes.byteLength;
      kept = { status: origin.status, statusText: origin.statusText, headers: headerPairs(origin.headers), body: read.bytes };
    } else body = read.stream;
  }

  const units = ctx.knownUnits ?? responseUnits(meter, origin) ?? (meter.count.from === "response-bytes" ? bufferedBytes : null);
  if (units === null) {
    // response-bytes without Content-Length: charged when the body ends (CONTRACT §5, last paragraph).
    tollgateHeaders({ requestId: outcome.requestId, ...(outcome.surface !== undefined && { surface: outcome.surface }) }, headers);
    const stream = body instanceof ArrayBuffer ? null : body;
    body = observeBody(stream!, ctx.waitUntil, (bytes) =>
      settleAdmission(ctx, { admissionId: admission.admissionId, status: origin.status, units: bytes, holdSlot: false, signals }),
    );
    return new Response(body, { status: origin.status, statusText: origin.statusText, headers });
  }

  const holdSlot = admission.policy.concurrency !== undefined && body !== null && !(body instanceof ArrayBuffer);
  const settlement = await settleAdmission(ctx, {
    admissionId: admission.admissionId,
    status: origin.status,
    units,
    holdSlot,
    signals,
    ...(kept && { response: kept }),
  });
  tollgateHeaders({ ...outcome, units: settlement?.units ?? 0, cost: settlement?.cost ?? 0, incentives: settlement?.incentives ?? [] }, headers);
  if (holdSlot && body && !(body instanceof ArrayBuffer)) {
    const stub = limiterOf(ctx.env, ctx.tenantId);
    body = observeBody(body, ctx.waitUntil, () => stub.release(admission.admissionId));
  }
  return new Response(body, { status: origin.status, statusText: origin.statusText, headers });
}

/** A kept answer replayed: not forwarded, not charged (CONTRACT §3 Idempotency). */
export function replayResponse(stored: StoredResponse, outcome: Outcome): Response {
  const headers = new Headers(stored.headers as [string, string][]);
  headers.set("Idempotent-Replayed", "true");
  tollgateHeaders({ ...outcome, units: 0, cost: 0 }, headers);
  const body = [204, 304].includes(stored.status) ? null : stored.body;
  return new Response(body, { status: stored.status, statusText: stored.statusText, headers });
}
