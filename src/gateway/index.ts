// The request path of every URL outside /_tollgate/ (CONTRACT §3), one step a file:
// authenticate → classify → admit → forward → settle.
import type { Context } from "hono";
import { CatalogStore } from "../catalog/store";
import type { Clock } from "../clock";
import type { AppEnv } from "../env";
import { Problem, problem } from "../problems";
import { admit, type Replay } from "./admit";
import { limiterOf } from "../limiter/stub";
import type { LeaseReport } from "../limiter/protocol";
import { authenticate, type Principal } from "./authenticate";
import { checkDeclaredLength, limitedBody, readBody } from "./body";
import { describeRequest } from "./describe";
import { forward } from "./forward";
import { tollgateHeaders, type Outcome } from "./headers";
import { askForLease, hold, holdingKey, leaseAnswered, reportWhenDone, takePermit, takeReports, unsend } from "./leases";
import { originHeaders, replayResponse, settleFailure, settleResponse, type Answering } from "./settle";
import { serverTiming, type Stopwatch } from "./timing";
import { checkLifecycle } from "./lifecycle";

/** CONTRACT §6: an admission never settled is settled by the limiter 60 s after admission, or after the origin timeout if longer. */
const MIN_LEASE_MS = 60_000;

/** One request through the gateway: what the request path needs of the Worker's invocation. */
export interface GatewayCall {
  env: Env;
  request: Request;
  clock: Clock;
  requestId: string;
  waitUntil: (promise: Promise<unknown>) => void;
}

/** The Hono route of every path outside /_tollgate/ (the Worker's entry serves them without the router). */
export function handleGatewayRequest(c: Context<AppEnv>): Promise<Response> {
  return serveGateway({ env: c.env, request: c.req.raw, clock: c.get("clock"), requestId: c.get("requestId"), waitUntil: (p) => c.executionCtx.waitUntil(p) });
}

export async function serveGateway(call: GatewayCall): Promise<Response> {
  const { env, request, clock } = call;
  const url = new URL(request.url);
  const outcome: Outcome = { requestId: call.requestId, units: 0, cost: 0 };
  const watch: Stopwatch = { start: performance.now(), marks: {} };
  const principal = await authenticate(env, request.headers, url);
  watch.marks.auth = performance.now() - watch.start;
  // CONTRACT §7: a partner's key calls on behalf of a customer; the customer's limiter admits it.
  const onBehalfOf = onBehalfOfHeader(request.headers);
  const tenantId = onBehalfOf ?? principal.tenantId;
  const actor = onBehalfOf === null ? undefined : principal.tenantId;
  let catalogVersion: number | null = null;
  let admitted = false;
  try {
    const snapshot = await new CatalogStore(env.DB, env.CACHE, clock).current();
    catalogVersion = snapshot?.version ?? null;
    const maxBytes = Number(env.MAX_BODY_BYTES);
    const hasBody = request.body !== null && request.method !== "GET" && request.method !== "HEAD";
    const upgrade = request.headers.get("upgrade");
    let upgradeAllowed = false;
    let deprecated = false as boolean; // set by the classification callback below
    const described = await describeRequest(
      snapshot,
      { method: request.method, url, headers: request.headers },
      () => (hasBody ? readBody(request.body, maxBytes) : Promise.resolve(null)),
      (surface) => {
        outcome.surface = surface;
        const life = checkLifecycle(snapshot!.catalog, surface, clock.now());
        if (life) {
          outcome.lifecycle = life.headers;
          deprecated = life.deprecated;
        }
        upgradeAllowed = upgrade !== null && (snapshot!.catalog.surfaces[surface]?.upgrades ?? []).includes(upgrade.toLowerCase() as "websocket");
        if (upgrade !== null && !upgradeAllowed) {
          throw problem("invalid-request", { detail: `Surface "${surface}" does not allow Upgrade: ${upgrade}.`, errors: [{ path: "/headers/upgrade", message: "upgrade not allowed on this surface" }] });
        }
        checkDeclaredLength(request.headers, maxBytes);
      },
    );
    const { surface, terms, idempotencyKey, keepResponse, claim, conditional, buffered } = described;
    const knownUnits = described.units;

    const timeoutMs = Number(env.ORIGIN_TIMEOUT_MS) || 30_000;
    const admitStart = performance.now();
    // CONTRACT §6: on a leased surface most requests spend a permit this isolate holds and make no
    // limiter call; a request with Idempotency-Key always goes the strict way.
    const leaseKey = terms.leasable && idempotencyKey === null && upgrade === null && actor === undefined ? holdingKey(principal.tenantId, principal.keyId, surface, snapshot!.version) : null;
    let holding = leaseKey ? takePermit(leaseKey, knownUnits, clock.now()) : null;
    let asking = false;
    if (leaseKey && !holding) {
      const ask = askForLease(leaseKey);
      if (ask === true) asking = true;
      else {
        await ask; // another request of this isolate is fetching the lease: spend from it
        holding = takePermit(leaseKey, knownUnits, clock.now());
      }
    }
    let admission: Answering | Replay | null;
    if (holding) {
      admission = { kind: "admitted", mode: "leased", requestId: outcome.requestId, policy: holding.grant.policy, limits: holding.grant.limits, holding };
    } else {
      const reports = asking && leaseKey ? takeReports(leaseKey, clock.now()) : undefined;
      try {
        admission = await admit(env, tenantId, {
          requestId: outcome.requestId,
          keyId: principal.keyId,
          ...(actor !== undefined && { actor }),
          surface,
          terms,
          units: knownUnits,
          idempotencyKey: described.keyIncentive,
          conditional,
          ...(UNSAFE.has(request.method) && { unsafe: true }),
          ...(deprecated && { deprecated: true }),
          leaseMs: Math.max(MIN_LEASE_MS, timeoutMs),
          catalogVersion: snapshot!.version,
          ...(claim && { idempotency: claim }),
          ...(asking && { lease: reports ? { reports } : {} }),
        }, call.waitUntil);
        if (asking && leaseKey && admission?.kind === "admitted" && admission.mode === "charged" && admission.lease) {
          const held = hold(leaseKey, admission.lease);
          call.waitUntil(reportWhenDone(held, () => clock.now()).then((r) => r && sendLeaseReports(env, principal.tenantId, r)));
        }
      } catch (error) {
        if (reports && leaseKey) unsend(leaseKey, reports); // the next lease request carries them again
        throw error;
      } finally {
        if (asking && leaseKey) leaseAnswered(leaseKey);
      }
    }
    watch.marks.admit = performance.now() - admitStart;
    if (admission?.kind === "admitted" && admission.mode !== "leased") {
      if (admission.attribution) outcome.payer = admission.attribution.payer;
      if (admission.shadow) outcome.shadow = admission.shadow;
    }
    if (admission?.kind === "replay") {
      if (admission.payer !== undefined) outcome.payer = admission.payer;
      return replayResponse(admission.response, outcome);
    }
    admitted = admission !== null;

    // A streamed body without Content-Length is cut off at the limit: the origin never receives more.
    // Only such a body needs the abort signal (a request without one skips its allocation, issue 15).
    let upload: AbortController | undefined;
    let body: ReadableStream | ArrayBuffer | null = null;
    if (hasBody) {
      if (!buffered && !request.headers.has("content-length")) {
        const cut = (upload = new AbortController());
        body = limitedBody(request.body!, maxBytes, () => cut.abort(problem("payload-too-large", { detail: `The request body is larger than ${maxBytes} bytes.` })));
      } else body = buffered ?? request.body;
    }
    const target = { originUrl: env.ORIGIN_URL, timeoutMs, secret: env.ORIGIN_SECRET, now: clock.now(), ...(upload && { signal: upload.signal }), upgrade: upgradeAllowed, url };
    const identity = { tenantId, ...(actor !== undefined && { actor }), surface, requestId: outcome.requestId, keyHeader: principal.keyHeader, key: principal.key };

    const originStart = performance.now();
    if (admission === null) {
      // FAIL_MODE=open: the limiter could not answer, so the request goes through unmetered.
      const origin = await forward(request, body, identity, target);
      watch.marks.origin = performance.now() - originStart;
      const headers = tollgateHeaders(outcome, originHeaders(origin));
      headers.set("Tollgate-Limiter", "unavailable");
      if (env.SERVER_TIMING !== "off") headers.set("Server-Timing", serverTiming(watch));
      return new Response(origin.body, { status: origin.status, statusText: origin.statusText, headers });
    }

    let origin: Response;
    try {
      origin = await forward(request, body, identity, target);
    } catch (error) {
      const refused = error instanceof Problem && error.code === "payload-too-large";
      const status = error instanceof Problem ? error.status : 502;
      await settleFailure({ env, tenantId, admission }, status, error instanceof Problem ? error.code : "origin-unavailable", refused ? "rejected" : "failed");
      throw error;
    }
    watch.marks.origin = performance.now() - originStart;
    return await settleResponse(
      {
        env,
        waitUntil: call.waitUntil,
        tenantId,
        admission,
        outcome,
        knownUnits,
        idempotencyKey: described.keyIncentive,
        conditional,
        keepResponse,
      },
      origin,
      env.SERVER_TIMING === "off" ? undefined : serverTiming(watch),
    );
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    const answered = admitted ? error : await keyRefusalBeforeAdmission(env, principal, error, outcome, catalogVersion);
    tollgateHeaders(outcome, answered.headers);
    throw answered;
  }
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The customer of a delegated call: a tenant id, or grant-required for anything else (CONTRACT §7). */
function onBehalfOfHeader(headers: Headers): string | null {
  const value = headers.get("tollgate-on-behalf-of");
  if (value === null) return null;
  const id = value.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) throw problem("grant-required", { detail: "Tollgate-On-Behalf-Of must name a customer tenant by its id." });
  return id;
}

/** Lease reports sent on their own (no lease request came to carry them), retried; unreported permits are counted, never dropped. */
async function sendLeaseReports(env: Pick<Env, "LIMITER">, tenantId: string, reports: LeaseReport[]): Promise<void> {
  for (const delay of [0, 100, 1_000]) {
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      return await limiterOf(env, tenantId).reportLeases(reports);
    } catch (error) {
      console.error("lease report failed", error);
    }
  }
}

const beforeAdmission = new Set(["no-surface", "invalid-request", "payload-too-large", "surface-sunset"]);
// Refusals from the limiter itself are recorded there; origin failures are recorded at settle.

/**
 * Refusals raised before the limiter was asked still go through its strong key check (a revoked
 * key is told so, whatever it asked) and are recorded as rejected requests.
 */
async function keyRefusalBeforeAdmission(env: Pick<Env, "LIMITER">, principal: Principal, error: Problem, outcome: Outcome, catalogVersion: number | null): Promise<Problem> {
  if (!beforeAdmission.has(error.code)) return error;
  try {
    const denied = await limiterOf(env, principal.tenantId).refuse({
      keyId: principal.keyId,
      surface: outcome.surface ?? null,
      code: error.code,
      status: error.status,
      catalogVersion,
    });
    if (denied) {
      if (denied.code !== "rate-limited") delete outcome.surface;
      return problem(denied.code, { detail: denied.detail, ...(denied.retryAfter !== undefined && { retryAfter: denied.retryAfter }) });
    }
  } catch (e) {
    console.error("limiter failed while recording a refusal", e);
  }
  return error;
}
