// The admission decision (CONTRACT §2, §3.3), pure: the tenant's rule, concurrency, rate and quota
// for one request, from the surface's state as the limiter holds it in memory. `admit` applies
// what it answers; `quote` only reads it — so a quote can never disagree with an admission.
import { periodBounds, secondsToPeriodEnd } from "./quota-period";
import { ruleRefusal, type EffectivePolicy, type TenantTerms } from "./policy";
import type { RefusalCode } from "./protocol";
import { take, type BucketState } from "./token-bucket";

export interface QuotaCounter {
  used: number;
  reserved: number;
}

/** What the limiter knows of one surface now. */
export interface SurfaceState {
  bucket: BucketState | null;
  /** The quota counter of the period that contains `now` (zeros when none yet). */
  quota: (periodStart: number) => QuotaCounter;
  inFlight: number;
}

export interface Refused {
  ok: false;
  code: RefusalCode;
  detail: string;
  retryAfter?: number;
  violatedPolicies?: string[];
}

export interface Allowed {
  ok: true;
  /** The bucket after this request's token, or null without a rate. */
  bucket: BucketState | null;
  /** The quota period the request counts in, or null without a quota. */
  periodStart: number | null;
  /** Units used and reserved in the period before this request: its position, which prices overage. */
  position: number;
}

export type Decision = Allowed | Refused;

/**
 * Rule, concurrency, rate and quota, in that order. `units` null means the response will tell:
 * admitted while any quota remains.
 */
export function decide(tenant: TenantTerms, policy: EffectivePolicy, state: SurfaceState, units: number | null, now: number): Decision {
  const surface = policy.surface;
  const ruleCode = ruleRefusal(policy, tenant.addons);
  if (ruleCode === "surface-prohibited") return { ok: false, code: ruleCode, detail: `Surface "${surface}" is not available on plan "${tenant.plan}".` };
  if (ruleCode === "premium-required") return { ok: false, code: ruleCode, detail: `Surface "${surface}" needs the "${surface}" add-on.` };

  if (policy.concurrency !== undefined && state.inFlight >= policy.concurrency) {
    return { ok: false, code: "concurrency-limited", detail: `At most ${policy.concurrency} requests to "${surface}" may be in flight.`, retryAfter: 1, violatedPolicies: ["concurrency"] };
  }

  let bucket: BucketState | null = null;
  if (policy.rate) {
    const taken = take(state.bucket, policy.rate, now);
    if (!taken.admitted) {
      return { ok: false, code: "rate-limited", detail: `Rate limit of ${policy.rate.limit} per ${policy.rate.window}s exceeded.`, retryAfter: taken.retryAfter, violatedPolicies: ["rate"] };
    }
    bucket = taken.state;
  }

  let periodStart: number | null = null;
  let position = 0;
  if (policy.quota) {
    periodStart = periodBounds(policy.quota.period, now).start;
    const counter = state.quota(periodStart);
    position = counter.used + counter.reserved;
    const exceeded = units === null ? position >= policy.quota.limit : position + units > policy.quota.limit;
    if (exceeded && policy.quota.overage === "block") {
      const { limit, period } = policy.quota;
      const unit = policy.meter.unit;
      const retryAfter = secondsToPeriodEnd(period, now);
      const remaining = Math.max(0, limit - position);
      // A batch larger than what remains is told both numbers; its Retry-After is the period's end,
      // the first moment it fits (and one larger than the whole quota never fits: it is told so).
      const detail =
        units === null || units <= 1 || (remaining === 0 && units <= limit)
          ? `Quota of ${limit} ${unit} per ${period} used up; it resets in ${retryAfter} s.`
          : units > limit
            ? `${units} ${unit} requested, ${remaining} remaining: a request larger than the whole quota of ${limit} ${unit} per ${period} never fits; split it.`
            : `${units} ${unit} requested, ${remaining} remaining of the quota of ${limit} ${unit} per ${period}; the quota resets in ${retryAfter} s.`;
      return { ok: false, code: "quota-exhausted", detail, retryAfter, violatedPolicies: ["quota"] };
    }
  }
  return { ok: true, bucket, periodStart, position };
}

/** The refusals a shadow rule reports instead of making (issue 12): limits only, never the rule. */
export const LIMIT_CODES = new Set<RefusalCode>(["concurrency-limited", "rate-limited", "quota-exhausted"]);

/**
 * Every limit that would refuse this request, each evaluated on its own (a shadow rule reports
 * all of them, where `decide` stops at the first), and the quota position that prices it.
 */
export function limitRefusals(policy: EffectivePolicy, state: SurfaceState, units: number | null, now: number): { codes: RefusalCode[]; position: number } {
  const codes: RefusalCode[] = [];
  if (policy.concurrency !== undefined && state.inFlight >= policy.concurrency) codes.push("concurrency-limited");
  if (policy.rate && !take(state.bucket, policy.rate, now).admitted) codes.push("rate-limited");
  let position = 0;
  if (policy.quota) {
    const counter = state.quota(periodBounds(policy.quota.period, now).start);
    position = counter.used + counter.reserved;
    const exceeded = units === null ? position >= policy.quota.limit : position + units > policy.quota.limit;
    if (exceeded && policy.quota.overage === "block") codes.push("quota-exhausted");
  }
  return { codes, position };
}
