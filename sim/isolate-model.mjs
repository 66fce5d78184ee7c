// A model of one Worker isolate's leases (src/gateway/leases.ts and the leased branch of
// src/gateway/index.ts) for one (tenant, key, surface): the holding, the one lease request in
// flight that other requests wait for, and when a lease's report leaves: a done lease (replaced
// or ended) posts its report to the outbox once its last request ended, and the next lease
// request carries the outbox; what is still there REPORT_CARRY_MS after the lease's timer found
// its last request ended goes on its own. Each method mirrors the
// function of the same name; if those change, this must follow.
//
// `pending` (requests served from a lease whose answer has not ended) is kept as `busyUntil`, the
// end of the latest such answer: pending > 0 exactly while now < busyUntil.

export const REPORT_POLL_MS = 50; // reportWhenDone polls every 50 ms …
export const REPORT_WAIT_MAX_MS = 10_000; // … for at most 10 s …
export const REPORT_CARRY_MS = 1_000; // … then leaves the report this long for a lease request to carry

export class IsolateModel {
  constructor(generation) {
    /** A replaced (dead) isolate's answers and timers are dropped: they carry the old generation. */
    this.generation = generation;
    /** `holdings.get(key)`. */
    this.holding = null;
    /** `requesting.get(key)`: the arrival times of the requests waiting for the lease answer, or null. */
    this.waiting = null;
    /** `outbox.get(key)`: reports waiting for the next lease request. */
    this.outbox = [];
    /** Retired holdings whose last requests are still being answered (posted when they end). */
    this.retiring = [];
  }

  /** takePermit: a permit for one request of 1 unit, or null when the lease can't serve it. */
  takePermit(now) {
    const h = this.holding;
    if (!h || h.retired || h.left < 1 || h.grant.expiresAt <= now) return null;
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
    if (this.holding) this.retire(this.holding, now);
    const h = { grant, left: grant.permits, unitsLeft: grant.units, used: 0, busyUntil: now, retired: false, reported: false };
    this.holding = h;
    return h;
  }

  /** retire / post: a done lease posts its report once its last request has ended (recordLeased). */
  retire(h, now) {
    if (h.retired) return;
    h.retired = true;
    this.retiring.push(h);
    this.postEnded(now);
  }

  postEnded(now) {
    this.retiring = this.retiring.filter((h) => {
      if (h.busyUntil > now) return true;
      if (!h.reported) this.outbox.push(reportOf(h));
      return false;
    });
  }

  /** takeReports: the outbox (with the current lease, if it is done), to travel with a lease request. */
  takeReports(now) {
    const h = this.holding;
    if (h && !h.retired && (h.left < 1 || h.grant.expiresAt <= now)) this.retire(h, now);
    this.postEnded(now);
    const reports = this.outbox;
    this.outbox = [];
    return reports.length > 0 ? reports : undefined;
  }

  /** unsend: a lease request that failed puts its reports back. */
  unsend(reports) {
    this.outbox = [...reports, ...this.outbox];
  }

  /** reportWhenDone, once the lease ended and its last request ended: its report is posted. */
  leaseDone(h, now) {
    this.retire(h, now);
    this.postEnded(now);
  }

  /** reportWhenDone, REPORT_CARRY_MS later: what is left in the outbox. */
  reportWhenDone() {
    const reports = this.outbox;
    this.outbox = [];
    return reports.length > 0 ? reports : undefined;
  }
}

/** reportOf: every served request ended charged, 1 unit each (one usage group). */
function reportOf(h) {
  h.reported = true;
  const usage = h.used > 0 ? [{ outcome: "charged", count: h.used, units: h.used, cost: 0, savings: 0, incentives: [] }] : [];
  return { leaseId: h.grant.leaseId, used: h.used, usage };
}
