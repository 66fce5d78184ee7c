// The request path of every URL outside /_tollgate/ (CONTRACT §3), one step a file:
// authenticate → classify → admit → forward → settle.
import type { Context } from "hono";
import { CatalogStore } from "../catalog/store";
import type { AppEnv } from "../env";
import { surfaceTerms } from "../limiter/policy";
import { needsRequestBody, requestUnits } from "../pricing/meters";
import { Problem, problem } from "../problems";
import { admit, limiterOf } from "./admit";
import { authenticate, type Principal } from "./authenticate";
import { checkDeclaredLength, readBody } from "./body";
import { classify } from "./classify";
import { forward } from "./forward";
import { tollgateHeaders, type Outcome } from "./headers";
import { idempotencyClaim, idempotencyKeyOf, isConditional, isUnsafe, keepsResponses } from "./idempotency";
import { replayResponse, settleAdmission, settleResponse } from "./settle";
import { noSignals } from "../pricing/incentives";

/** How long past the origin timeout an unsettled admission keeps its slot (e.g. a Worker crash). */
const LEASE_MARGIN_MS = 5 * 60_000;

export async function handleGatewayRequest(c: Context<AppEnv>): Promise<Response> {
  const env = c.env;
  const request = c.req.raw;
  const url = new URL(request.url);
  const clock = c.get("clock");
  const outcome: Outcome = { requestId: c.get("requestId"), units: 0, cost: 0 };
  const principal = await authenticate(env, request.headers);
  let catalogVersion: number | null = null;
  try {
    const snapshot = await new CatalogStore(env.DB, env.CACHE, clock).current();
    catalogVersion = snapshot?.version ?? null;
    const surface = classify(snapshot, request.method, url.pathname);
    outcome.surface = surface;
    const terms = surfaceTerms(snapshot!.catalog, surface);

    const maxBytes = Number(env.MAX_BODY_BYTES);
    checkDeclaredLength(request.headers, maxBytes);
    const hasBody = request.body !== null && request.method !== "GET" && request.method !== "HEAD";
    const idempotencyKey = idempotencyKeyOf(request.headers);
    const keepResponse = idempotencyKey !== null && keepsResponses(request.method);
    const buffered = hasBody && (needsRequestBody(terms.meter) || keepResponse) ? await readBody(request.body, maxBytes) : null;
    const knownUnits = requestUnits(terms.meter, buffered);
    const claim = keepResponse ? await idempotencyClaim(idempotencyKey, request.method, url, buffered ?? new ArrayBuffer(0)) : undefined;

    const timeoutMs = Number(env.ORIGIN_TIMEOUT_MS) || 30_000;
    const admission = await admit(env, principal.tenantId, {
      requestId: outcome.requestId,
      keyId: principal.keyId,
      surface,
      terms,
      units: knownUnits,
      leaseMs: timeoutMs + LEASE_MARGIN_MS,
      catalogVersion: snapshot!.version,
      ...(claim && { idempotency: claim }),
    });
    if (admission?.kind === "replay") return replayResponse(admission.response, outcome);

    const body = hasBody ? (buffered ?? request.body) : null;
    const target = { originUrl: env.ORIGIN_URL, timeoutMs, secret: env.ORIGIN_SECRET, now: clock.now() };
    const identity = { tenantId: principal.tenantId, surface, requestId: outcome.requestId, keyHeader: principal.keyHeader, key: principal.key };

    if (admission === null) {
      // FAIL_MODE=open: the limiter could not answer, so the request goes through unmetered.
      const origin = withoutTollgateHeaders(await forward(request, body, identity, target));
      const headers = tollgateHeaders(outcome, new Headers(origin.headers));
      headers.set("Tollgate-Limiter", "unavailable");
      return new Response(origin.body, { status: origin.status, statusText: origin.statusText, headers });
    }

    let origin: Response;
    try {
      origin = await forward(request, body, identity, target);
    } catch (error) {
      const status = error instanceof Problem ? error.status : 502;
      await settleAdmission({ env, tenantId: principal.tenantId }, { admissionId: admission.admissionId, status, units: null, holdSlot: false, signals: noSignals });
      throw error;
    }
    return await settleResponse(
      {
        env,
        waitUntil: (p) => c.executionCtx.waitUntil(p),
        tenantId: principal.tenantId,
        admission,
        outcome,
        knownUnits,
        idempotencyKey: idempotencyKey !== null && isUnsafe(request.method),
        conditional: isConditional(request.headers),
        keepResponse,
      },
      withoutTollgateHeaders(origin),
    );
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    const answered = await keyRefusalBeforeAdmission(c, principal, error, outcome, catalogVersion);
    tollgateHeaders(outcome, answered.headers);
    throw answered;
  }
}

/** The origin may not speak for Tollgate: its own Tollgate-* headers are dropped. */
function withoutTollgateHeaders(origin: Response): Response {
  const headers = new Headers();
  origin.headers.forEach((value, name) => {
    if (!name.startsWith("tollgate-")) headers.set(name, value);
  });
  return new Response(origin.body, { status: origin.status, statusText: origin.statusText, headers });
}

const beforeAdmission = new Set(["no-surface", "invalid-request", "payload-too-large"]);
// Refusals from the limiter itself are recorded there; origin failures are recorded at settle.

/**
 * Refusals raised before the limiter was asked still go through its strong key check (a revoked
 * key is told so, whatever it asked) and are recorded as rejected requests.
 */
async function keyRefusalBeforeAdmission(c: Context<AppEnv>, principal: Principal, error: Problem, outcome: Outcome, catalogVersion: number | null): Promise<Problem> {
  if (!beforeAdmission.has(error.code)) return error;
  try {
    const denied = await limiterOf(c.env, principal.tenantId).refuse({
      requestId: outcome.requestId,
      keyId: principal.keyId,
      surface: outcome.surface ?? null,
      code: error.code,
      status: error.status,
      catalogVersion,
    });
    if (denied) {
      delete outcome.surface;
      return problem(denied.code, { detail: denied.detail });
    }
  } catch (e) {
    console.error("limiter failed while recording a refusal", e);
  }
  return error;
}
