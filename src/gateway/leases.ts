// Leased admission, the isolate's side (CONTRACT §6): permits the tenant's limiter pre-debited
// for this isolate, held per (tenant, key, surface, catalog version), spent by requests that then
// make no blocking limiter call, and reported — their usage aggregated — with the next lease
// request or once the lease has ended and its last request finished. A lease held for one key
// serves only that key, so a revoked key stops at the latest when its lease ends (lease.seconds).
import type { LeaseGrant, LeaseReport, LeaseUsage } from "../limiter/protocol";
import { chargeFor, type Charge } from "../pricing/charge";
import type { PatternSignals } from "../pricing/incentives";

export interface Holding {
  grant: LeaseGrant;
  /** Permits left. */
  left: number;
  /** Quota units left of those the lease reserved (when it reserved any). */
  unitsLeft: number;
  /** Units charged so far: the next leased request prices its overage from grant.position + consumed. */
  consumed: number;
  used: number;
  /** Requests served from the lease whose answer has not ended: the report waits for them. */
  pending: number;
  usage: Map<string, LeaseUsage>;
  reported: boolean;
}

const holdings = new Map<string, Holding>();
const MAX_HOLDINGS = 10_000;
/**
 * Keys with a lease request on its way: one at a time per isolate (concurrent misses would each
 * take a lease), and the requests that miss meanwhile wait for it instead of each calling the
 * limiter.
 */
const requesting = new Map<string, { answered: Promise<void>; resolve: () => void }>();

/** True: this request asks for the lease (and must call `leaseAnswered`); else the request to wait for. */
export function askForLease(key: string): true | Promise<void> {
  const pending = requesting.get(key);
  if (pending) return pending.answered;
  let resolve!: () => void;
  const answered = new Promise<void>((r) => (resolve = r));
  requesting.set(key, { answered, resolve });
  return true;
}

export function leaseAnswered(key: string): void {
  requesting.get(key)?.resolve();
  requesting.delete(key);
}

export const holdingKey = (tenantId: string, keyId: string, surface: string, catalogVersion: number) => `${tenantId}\u0000${keyId}\u0000${surface}\u0000${catalogVersion}`;

/** A permit for one request of `units` (null: measured from the response), or null when the lease can't serve it. */
export function takePermit(key: string, units: number | null, now: number): Holding | null {
  const h = holdings.get(key);
  if (!h || h.reported || h.left < 1 || h.grant.expiresAt <= now) return null;
  if (h.grant.units > 0) {
    if (units === null || units > h.unitsLeft) return null;
    h.unitsLeft -= units;
  }
  h.left--;
  h.used++;
  h.pending++;
  return h;
}

/** The charge of a leased request, priced where it stands in the quota (the same code the limiter uses). */
export function priceLeased(h: Holding, units: number, signals: PatternSignals): Charge {
  const charge = chargeFor(h.grant.policy, units, h.grant.position + h.consumed, signals);
  h.consumed += charge.units;
  return charge;
}

/** A leased request's answer ended: charged (with its charge) or failed. */
export function recordLeased(h: Holding, charge: Charge | null): void {
  const outcome = charge ? "charged" : "failed";
  const incentives = charge ? [...charge.incentives].sort() : [];
  const id = `${outcome}\u0000${incentives.join(",")}`;
  let u = h.usage.get(id);
  if (!u) h.usage.set(id, (u = { outcome, count: 0, units: 0, cost: 0, savings: 0, incentives }));
  u.count++;
  if (charge) {
    u.units += charge.units;
    u.cost += charge.cost;
    u.savings += charge.savings;
  }
  h.pending--;
}

export function hold(key: string, grant: LeaseGrant): Holding {
  if (holdings.size >= MAX_HOLDINGS) holdings.delete(holdings.keys().next().value!);
  const h: Holding = { grant, left: grant.permits, unitsLeft: grant.units, consumed: 0, used: 0, pending: 0, usage: new Map(), reported: false };
  holdings.set(key, h);
  return h;
}

function reportOf(h: Holding): LeaseReport {
  h.reported = true;
  return { leaseId: h.grant.leaseId, used: h.used, usage: [...h.usage.values()] };
}

/**
 * The report of the lease held under `key`, to travel with the next lease request — only once
 * none of its requests is still being answered (otherwise the lease's own timer reports it).
 */
export function takeReport(key: string): LeaseReport | undefined {
  const h = holdings.get(key);
  if (!h || h.reported || h.pending > 0) return undefined;
  holdings.delete(key);
  return reportOf(h);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for the lease to end and its last request to finish, then answers its report unless it
 * already travelled with a lease request. Run in `waitUntil` by the request that took the lease.
 */
export async function reportWhenDone(key: string, h: Holding, now: () => number): Promise<LeaseReport | undefined> {
  await sleep(Math.max(0, h.grant.expiresAt - now()));
  for (let waited = 0; h.pending > 0 && waited < 10_000; waited += 50) await sleep(50);
  if (h.reported) return undefined;
  if (holdings.get(key) === h) holdings.delete(key);
  return reportOf(h);
}

/** For tests: forget every lease this isolate holds. */
export function forgetHoldings(): void {
  holdings.clear();
  requesting.clear();
}
