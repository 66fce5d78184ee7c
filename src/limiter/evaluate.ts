// The limiter's evaluation of one request (CONTRACT §3.3, §7, §8), pure: who calls and who pays
// (`authorize`), then the surface's rule for an own call, the Idempotency-Key and the limits, with
// a shadow rule's refusals reported instead of made (`judge`). `admit` applies and records what
// they answer; `quote` only reads it — so a quote never disagrees with the admission the same
// request would get now.
import { decide, LIMIT_CODES, limitRefusals, type Allowed, type SurfaceState } from "./decide";
import { delegate, ownCallRefusal, type Delegation } from "./delegation";
import { verdictOf, type IdempotencyClaim, type IdempotencyRow, type StoredResponse } from "./idempotency";
import { effectivePolicy, type EffectivePolicy, type SurfaceTerms } from "./policy";
import type { Principals } from "./principals";
import type { Attribution, RefusalCode, TenantState } from "./protocol";

export interface Caller {
  keyId: string;
  /** A partner calling on behalf of this limiter's tenant (CONTRACT §7). */
  actor?: string;
  surface: string;
  terms: SurfaceTerms;
}

export type Authorization =
  | {
      ok: true;
      tenant: TenantState;
      delegation: Extract<Delegation, { ok: true }> | null;
      attribution: Attribution | null;
      /** The tenant's rule and limits decide. */
      limitsPolicy: EffectivePolicy;
      /** The payer's plan prices (the tenant's own, unless a partner pays). */
      policy: EffectivePolicy;
    }
  | {
      ok: false;
      code: RefusalCode;
      detail: string;
      payer?: string;
      /** A delegated call refused for a tenant that exists is recorded with this attribution; nothing else is. */
      recordAs?: Attribution;
    };

/** The key and tenant, or the partner and its grant, and the policies that follow from them. */
export function authorize(principals: Principals, caller: Caller, now: number): Authorization {
  const tenant = principals.tenant;
  let delegation: Extract<Delegation, { ok: true }> | null = null;
  if (caller.actor !== undefined) {
    const d = delegate(tenant, principals.partners.get(caller.actor), principals.grants.values(), { actor: caller.actor, keyId: caller.keyId, surface: caller.surface, terms: caller.terms, now });
    if (!d.ok) {
      const payer = d.payer !== undefined ? { payer: d.payer } : {};
      // Recorded only for a tenant that exists (an unknown customer's object stores nothing).
      const recordable = tenant && !tenant.deleted && tenant.id !== caller.actor;
      return { ok: false, code: d.code, detail: d.detail, ...payer, ...(recordable && { recordAs: { actor: caller.actor, payer: d.payer ?? tenant.id, sharePpm: 0 } }) };
    }
    delegation = d;
  } else {
    const denied = principals.check(caller.keyId, now);
    if (denied) return { ok: false, ...denied };
  }
  if (!tenant) return { ok: false, code: "unauthenticated", detail: "Unknown API key." };
  const limitsPolicy = effectivePolicy(tenant, caller.surface, caller.terms);
  return { ok: true, tenant, delegation, attribution: delegation?.attribution ?? null, limitsPolicy, policy: delegation ? delegation.pricing(limitsPolicy) : limitsPolicy };
}

export interface Judged {
  surface: string;
  terms: SurfaceTerms;
  units: number | null;
  idempotency?: IdempotencyClaim;
}

export type Judgement =
  | { kind: "refused"; stage: "own" | "idempotency" | "limits"; code: RefusalCode; detail: string; retryAfter?: number; violatedPolicies?: string[] }
  | { kind: "replay"; response: StoredResponse }
  | {
      kind: "admitted";
      decision: Allowed;
      /** The limits a shadow rule would have refused it for (issue 12); empty when none. */
      shadow: RefusalCode[];
      /** The claim as stored: a partner's keys are its own and never meet the customer's. */
      idempotency: IdempotencyClaim | undefined;
    };

/**
 * Everything after who calls, in order: an own call on a partners-only surface, the
 * Idempotency-Key, then rule, concurrency, rate and quota. A shadow rule admits what a limit would
 * refuse, priced at the quota position it holds, and names those limits.
 */
export function judge(auth: Extract<Authorization, { ok: true }>, state: SurfaceState, req: Judged, idempotencyRow: (key: string) => IdempotencyRow | undefined, now: number): Judgement {
  const own = auth.delegation ? null : ownCallRefusal(req.terms, req.surface);
  if (own) return { kind: "refused", stage: "own", ...own };
  const idempotency = req.idempotency && auth.attribution ? { ...req.idempotency, key: `${auth.attribution.actor}\u0000${req.idempotency.key}` } : req.idempotency;
  if (idempotency) {
    const verdict = verdictOf(idempotencyRow(idempotency.key), idempotency, now);
    if (verdict.kind === "in-use") return { kind: "refused", stage: "idempotency", code: "idempotency-key-in-use", detail: "A request with this Idempotency-Key is still in flight." };
    if (verdict.kind === "reused") return { kind: "refused", stage: "idempotency", code: "idempotency-key-reused", detail: "This Idempotency-Key was used for a different request." };
    if (verdict.kind === "replay") return { kind: "replay", response: verdict.response };
  }
  const decision = decide(auth.tenant, auth.limitsPolicy, state, req.units, now);
  if (decision.ok) return { kind: "admitted", decision, shadow: [], idempotency };
  // Issue 12: a shadow rule evaluates every limit and refuses nothing. A request a limit would
  // refuse is forwarded and charged as if admitted, but leaves the limits' state as a refusal
  // would (no token, no quota units, no concurrency slot), so it reports exactly the refusals
  // the enforced rule would make.
  if (auth.limitsPolicy.enforce === "shadow" && LIMIT_CODES.has(decision.code)) {
    const evaluated = limitRefusals(auth.limitsPolicy, state, req.units, now);
    return { kind: "admitted", decision: { ok: true, bucket: null, periodStart: null, position: evaluated.position }, shadow: evaluated.codes, idempotency };
  }
  const { ok: _, ...refusal } = decision;
  return { kind: "refused", stage: "limits", ...refusal };
}
