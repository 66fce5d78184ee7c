// A model of one Worker isolate's leases (src/gateway/leases.ts and the leased branch of
// src/gateway/index.ts) for one (tenant, key, surface): the holding, the one lease request in
// flight that other requests wait for, and when a lease's report leaves. Each method mirrors the
// function of the same name; if those change, this must follow.
//
// `pending` (requests served from a lease whose answer has not ended) is kept as `busyUntil`, the
// end of the latest such answer: pending > 0 exactly while now < busyUntil.

export const REPORT_POLL_MS = 50; // reportWhenDone polls every 50 ms …
export const REPORT_WAIT_MAX_MS = 10_000; // … for at most 10 s

export class IsolateModel {
  constructor(generation) {
    /** A replaced (dead) isolate's answers and timers are dropped: they carry the old generation. */
    this.generation = generation;
    /** `holdings.get(key)`. */
    this.holding = null;
    /** `requesting.get(key)`: the arrival times of the requests waiting for the lease answer, or null. */
    this.waiting = null;
  }

  /** takePermit: a permit for one request of 1 unit, or null when the lease can't serve it. */
  takePermit(now) {
    const h = this.holding;
    if (!h || h.reported || h.left < 1 || h.grant.expiresAt <= now) return null;
    if (h.grant.units > 0) {
      if (1 > h.unitsLeft) return null;
      h.unitsLeft -= 1;
    }
    h.left--;
    h.used++;
    return h;
  }

  /** askForLease: true when this request asks (nothing in flight); else it waits for the answer. */
  askForLease(now) {
    if (this.waiting) {
      this.waiting.push(now);
      return false;
    }
    this.waiting = [];
    return true;
  }

  /** leaseAnswered: the waiting requests, in the order they began to wait. */
  leaseAnswered() {
    const waiting = this.waiting ?? [];
    this.waiting = null;
    return waiting;
  }

  hold(grant, now) {
    const h = { grant, left: grant.permits, unitsLeft: grant.units, used: 0, busyUntil: now, reported: false };
    this.holding = h;
    return h;
  }

  /** takeReport: the holding's report to travel with a lease request, unless a request of it is still being answered. */
  takeReport(now) {
    const h = this.holding;
    if (!h || h.reported || h.busyUntil > now) return undefined;
    this.holding = null;
    return reportOf(h);
  }

  /** reportWhenDone, after its sleeps: the report, unless it already travelled with a lease request. */
  reportWhenDone(h) {
    if (h.reported) return undefined;
    if (this.holding === h) this.holding = null;
    return reportOf(h);
  }
}

/** reportOf: every served request ended charged, 1 unit each (one usage group). */
function reportOf(h) {
  h.reported = true;
  const usage = h.used > 0 ? [{ outcome: "charged", count: h.used, units: h.used, cost: 0, savings: 0, incentives: [] }] : [];
  return { leaseId: h.grant.leaseId, used: h.used, usage };
}
