// Leased admission (CONTRACT §6), the pure part: how large a lease can be now. A lease pre-debits
// rate tokens (never given back) and reserves quota units (given back when the lease is returned
// or reported unused), so admission never exceeds any limit however many isolates hold leases:
// at most the permits that live leases hold are stranded until those leases end.
import type { QuotaCounter } from "./decide";
import type { EffectivePolicy } from "./policy";
import { refill, type BucketState } from "./token-bucket";

export const LEASE_DEFAULTS = { permits: 20, seconds: 2 } as const;
/** A lease's holder has this long after its end to report it before its permits count as unreported. */
export const REPORT_GRACE_MS = 10_000;

export interface LeaseTerms {
  permits: number;
  seconds: number;
}

/** The lease terms of a policy, or null when its requests go the strict way (CONTRACT §6). */
export function leaseTermsOf(policy: EffectivePolicy): LeaseTerms | null {
  if (policy.admission !== "leased" || policy.concurrency !== undefined) return null;
  const outcome = policy.meter.count.from === "response-header" || policy.meter.count.from === "response-bytes";
  if (outcome && policy.quota && policy.quota.overage === "block") return null; // a tenant override may have made it so
  return { permits: policy.lease?.permits ?? LEASE_DEFAULTS.permits, seconds: policy.lease?.seconds ?? LEASE_DEFAULTS.seconds };
}

export interface LeaseSize {
  permits: number;
  /** Quota units reserved for them. */
  units: number;
  /** The bucket once the permits' tokens are taken (null without a rate). */
  bucket: BucketState | null;
}

/**
 * Up to `want` permits: no more than the bucket's whole tokens, and with a blocking quota no more
 * than the units left (each permit reserving `unitsPerPermit`, the units of the request that
 * asked; 0 when units come from the response, which a blocking quota never leases).
 */
export function sizeLease(policy: EffectivePolicy, bucket: BucketState | null, counter: QuotaCounter | null, unitsPerPermit: number, want: number, now: number): LeaseSize {
  let permits = want;
  let after: BucketState | null = null;
  if (policy.rate) {
    const state = refill(bucket, policy.rate, now);
    permits = Math.min(permits, Math.floor(state.tokens + 1e-9));
    after = { tokens: Math.max(0, state.tokens - Math.max(0, permits)), updatedAt: state.updatedAt };
  }
  if (policy.quota && counter && unitsPerPermit > 0 && policy.quota.overage === "block") {
    const left = policy.quota.limit - counter.used - counter.reserved;
    permits = Math.min(permits, Math.floor(Math.max(0, left) / unitsPerPermit));
    if (policy.rate) after = { tokens: Math.max(0, refill(bucket, policy.rate, now).tokens - Math.max(0, permits)), updatedAt: after!.updatedAt };
  }
  permits = Math.max(0, permits);
  return { permits, units: policy.quota ? permits * unitsPerPermit : 0, bucket: after };
}
