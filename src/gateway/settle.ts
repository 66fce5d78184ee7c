// Step 5 (CONTRACT §3.5): count units, charge below 500 only, answer with the Tollgate headers.
// The charge is settled before the response is returned whenever its units are known from the
// headers, so the answer carries Tollgate-Units/Cost and usage reads see it at once. A
// `response-bytes` answer without Content-Length is charged when its body ends.
import type { Meter } from "../catalog/schema";
import type { SettleRequest, Settlement } from "../limiter/tenant-limiter";
import { responseUnits } from "../pricing/meters";
import type { Admission } from "./admit";
import { limiterOf } from "./admit";
import { mergeHeaders, rateLimitHeaders, tollgateHeaders, type Outcome } from "./headers";

export interface SettleContext {
  env: Pick<Env, "LIMITER">;
  waitUntil: (promise: Promise<unknown>) => void;
  tenantId: string;
  admission: Admission;
  outcome: Outcome;
  /** Units known before forwarding, or null. */
  knownUnits: number | null;
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

export async function settleResponse(ctx: SettleContext, origin: Response): Promise<Response> {
  const { admission, outcome } = ctx;
  const meter: Meter = admission.policy.meter;
  const headers = new Headers(origin.headers);
  mergeHeaders(headers, rateLimitHeaders(admission.limits, meter));
  let body = origin.body;

  if (origin.status >= 500) {
    await settleAdmission(ctx, { admissionId: admission.admissionId, status: origin.status, units: null, holdSlot: false });
    tollgateHeaders({ ...outcome, units: 0, cost: 0 }, headers);
  } else {
    const units = ctx.knownUnits ?? responseUnits(meter, origin);
    if (units !== null) {
      const holdSlot = admission.policy.concurrency !== undefined && body !== null;
      const settlement = await settleAdmission(ctx, { admissionId: admission.admissionId, status: origin.status, units, holdSlot });
      tollgateHeaders({ ...outcome, units: settlement?.units ?? 0, cost: settlement?.cost ?? 0 }, headers);
      if (holdSlot && body) {
        const stub = limiterOf(ctx.env, ctx.tenantId);
        body = observeBody(body, ctx.waitUntil, () => stub.release(admission.admissionId));
      }
    } else {
      // response-bytes without Content-Length: charged when the body ends (CONTRACT §5, last paragraph).
      tollgateHeaders({ requestId: outcome.requestId, ...(outcome.surface !== undefined && { surface: outcome.surface }) }, headers);
      body = observeBody(body!, ctx.waitUntil, (bytes) =>
        settleAdmission(ctx, { admissionId: admission.admissionId, status: origin.status, units: bytes, holdSlot: false }),
      );
    }
  }
  return new Response(body, { status: origin.status, statusText: origin.statusText, headers });
}
