// Leased admission, the isolate's side (CONTRACT §6): permits the tenant's limiter pre-debited
// for this isolate, held per (tenant, key, surface, catalog version), spent by requests that then
// make no blocking limiter call, and reported — their usage aggregated — once the lease is done
// (replaced, or ended) and its last request has finished: with the next lease request, or on its
// own when none comes within the lease's seconds. A lease held for one key serves only that key,
// so a revoked key stops at the latest when its lease ends (lease.seconds).
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
  /** Replaced by a newer lease, or ended: it serves no more requests and reports once `pending` is 0. */
  retired: boolean;
  reported: boolean;
  key: string;
  /**
   * The RateLimit-Policy and RateLimit values every request of the lease answers with: its limits
   * are the grant's, the same for all of them, so they are serialised once (issue 15).
   */
  rateLimit?: readonly [string, string] | null;
}

const holdings = new Map<string, Holding>();
const MAX_HOLDINGS = 10_000;
/** Reports of done leases, by key, waiting for the next lease request to carry them. */
const outbox = new Map<string, LeaseReport[]>();
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
  if (!h || h.retired || h.left < 1 || h.grant.expiresAt <= now) return null;
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
  if (h.retired && h.pending === 0) post(h);
}

/** A done lease's report, into the outbox (once). */
function post(h: Holding): void {
  if (h.reported) return;
  h.reported = true;
  const reports = outbox.get(h.key) ?? [];
  reports.push({ leaseId: h.grant.leaseId, used: h.used, usage: [...h.usage.values()] });
  outbox.set(h.key, reports);
}

function retire(h: Holding): void {
  h.retired = true;
  if (h.pending === 0) post(h);
}

export function hold(key: string, grant: LeaseGrant): Holding {
  const previous = holdings.get(key);
  if (previous) retire(previous);
  else if (holdings.size >= MAX_HOLDINGS) {
    const oldest = holdings.keys().next().value!;
    retire(holdings.get(oldest)!);
    holdings.delete(oldest);
  }
  const h: Holding = { grant, left: grant.permits, unitsLeft: grant.units, consumed: 0, used: 0, pending: 0, usage: new Map(), retired: false, reported: false, key };
  holdings.set(key, h);
  return h;
}

/** The reports waiting for `key`, to travel with its next lease request (the current lease too, if it is done). */
export function takeReports(key: string, now: number): LeaseReport[] | undefined {
  const h = holdings.get(key);
  if (h && !h.retired && (h.left < 1 || h.grant.expiresAt <= now)) retire(h);
  const reports = outbox.get(key);
  outbox.delete(key);
  return reports;
}

/** Puts reports back when the lease request that carried them failed: they go again. */
export function unsend(key: string, reports: LeaseReport[]): void {
  outbox.set(key, [...reports, ...(outbox.get(key) ?? [])]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How long a done lease's report waits in the outbox for a lease request to carry it before it is
 * sent on its own: a key still in use asks for its next lease within moments of the last one
 * ending, and carrying the report saves a limiter call per lease (issue 15). Well inside the
 * limiter's REPORT_GRACE_MS (10 s).
 */
export const REPORT_CARRY_MS = 1_000;

/**
 * Run in `waitUntil` by the request that took the lease: once the lease has ended, retires it,
 * and if its report (or any other waiting for the key) has not left with a lease request
 * REPORT_CARRY_MS after its last request ended, answers them to be sent on their own.
 */
export async function reportWhenDone(h: Holding, now: () => number): Promise<LeaseReport[] | undefined> {
  await sleep(Math.max(0, h.grant.expiresAt - now()));
  if (!h.retired) retire(h);
  for (let waited = 0; !h.reported && waited < 10_000; waited += 50) await sleep(50); // its last requests
  await sleep(REPORT_CARRY_MS);
  const reports = outbox.get(h.key);
  outbox.delete(h.key);
  return reports;
}

/** For tests: forget every lease this isolate holds. */
export function forgetHoldings(): void {
  holdings.clear();
  requesting.clear();
  outbox.clear();
}
