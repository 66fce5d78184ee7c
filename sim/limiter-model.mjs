// A model of one tenant's TenantLimiter (src/limiter/tenant-limiter.ts) on one leased surface, as
// the simulation needs it: the quota arithmetic and the rows written of
//   admit            its "charged" branch (request-known units, no concurrency, no Idempotency-Key),
//                    deciding with the real `decide` and pricing with the real `chargeFor`;
//   grantLease       sized by the real `sizeLease`, inside admit's transaction;
//   applyLeaseReport used units move from reserved to used, the rest goes back to the quota;
//   expireLeases     a lease not reported REPORT_GRACE_MS after its end counts `unreported`, its
//                    units stay used;
//   reportLeases     reports on their own (no lease request came to carry them).
// Each method mirrors the method of the same name; if those change, this must follow. Storage is
// counted, not kept: `rows` is the number of SQL statements that write a row, as the real methods
// issue them. One period only (the runs are seconds long), units per request = 1.

export class LimiterModel {
  /**
   * @param {typeof import("./src-code.mjs").limiterCode} code
   * @param {object} policy  an EffectivePolicy
   * @param {number} graceMs REPORT_GRACE_MS
   */
  constructor(code, policy, graceMs) {
    this.code = code;
    this.policy = policy;
    this.graceMs = graceMs;
    this.tenant = { plan: policy.plan, addons: [], overrides: {} };
    this.terms = code.leaseTermsOf(policy);
    /** The surface's bucket and the one period's quota counter, as the object holds them in memory. */
    this.bucket = null;
    this.counter = { used: 0, reserved: 0 };
    this.periodStart = null;
    /** Lease rows by id; `open` in grant order (every lease lasts the same time, so also expiry order). */
    this.leases = new Map();
    this.open = [];
    this.openHead = 0;
    this.nextLeaseId = 1;
    this.calls = { admit: 0, reportLease: 0 };
    this.transactions = 0;
    this.rows = 0;
    this.leasesGranted = 0;
    this.permitsGranted = 0;
    /** Units given back to the quota by reports (permits granted and not used). */
    this.unitsReturned = 0;
    /** Permits of leases counted unreported (less those whose report came late after all). */
    this.unreportedPermits = 0;
    /** Every token taken from the bucket, for the over-admission check: [time, tokens]. */
    this.onDebit = () => {};
  }

  /** TenantLimiter.admit, charged branch: one request of 1 unit, with or without a lease request. */
  admit(now, { lease, reports }) {
    this.calls.admit++;
    for (const report of reports ?? []) this.applyLeaseReport(report, now);
    const state = { bucket: this.bucket, quota: (periodStart) => this.quotaCounter(periodStart), inFlight: 0 };
    const decision = this.code.decide(this.tenant, this.policy, state, 1, now);
    if (!decision.ok) {
      this.rows += 2; // its usage event and the Retry-After given (refuse → recordEvent, noteRetryAfter)
      return { kind: "refused", code: decision.code };
    }
    const charge = this.code.chargeFor(this.policy, 1, decision.position, { idempotencyKey: false, notModified: false });
    let grant;
    this.transactions++;
    if (decision.bucket) {
      this.bucket = decision.bucket;
      this.rows++;
      this.onDebit(now, 1);
    }
    if (decision.periodStart !== null) this.addToQuota(charge.units, 0);
    this.rows++; // the request's usage event
    if (lease) grant = this.grantLease(decision.periodStart, 1, now);
    return { kind: "admitted", units: charge.units, grant };
  }

  /** TenantLimiter.grantLease. */
  grantLease(periodStart, unitsPerPermit, now) {
    if (!this.terms) return undefined;
    const counter = periodStart === null ? null : this.quotaCounter(periodStart);
    const size = this.code.sizeLease(this.policy, this.bucket, counter, unitsPerPermit, this.terms.permits, now);
    if (size.permits === 0) return undefined;
    const position = counter ? counter.used + counter.reserved : 0;
    if (size.bucket) {
      this.bucket = size.bucket;
      this.rows++;
      this.onDebit(now, size.permits);
    }
    if (periodStart !== null && size.units > 0) this.addToQuota(0, size.units);
    this.leasesGranted++;
    this.permitsGranted += size.permits;
    const row = { leaseId: this.nextLeaseId++, permits: size.permits, units: size.units, expiresAt: now + Math.round(this.terms.seconds * 1000), state: "open", position };
    this.leases.set(row.leaseId, row);
    this.open.push(row);
    this.rows++; // INSERT INTO leases
    return { leaseId: row.leaseId, permits: row.permits, units: row.units, expiresAt: row.expiresAt, position };
  }

  /** TenantLimiter.applyLeaseReport (idempotent; corrects a lease already counted unreported). */
  applyLeaseReport(report, now) {
    const row = this.leases.get(report.leaseId);
    if (!row || row.state === "reported") return;
    const usedUnits = report.usage.filter((u) => u.outcome === "charged").reduce((n, u) => n + u.units, 0);
    this.transactions++;
    this.rows += report.usage.length; // one weighted usage event per outcome and incentive set
    if (row.state === "unreported") {
      this.addToQuota(usedUnits - row.units, 0);
      this.rows++; // the `unreported` correction event
      this.unreportedPermits -= row.permits;
    } else this.addToQuota(usedUnits, -row.units);
    this.unitsReturned += row.units - usedUnits;
    row.state = "reported";
    this.rows++; // DELETE FROM leases (a reported lease's row goes at once)
  }

  /** TenantLimiter.reportLeases. */
  reportLeases(reports, now) {
    this.calls.reportLease++;
    for (const report of reports) this.applyLeaseReport(report, now);
  }

  /** TenantLimiter.expireLeases, as the alarm runs it. */
  expireLeases(now) {
    let any = false;
    while (this.openHead < this.open.length && this.open[this.openHead].expiresAt <= now - this.graceMs) {
      const row = this.open[this.openHead++];
      if (row.state !== "open") continue;
      any = true;
      this.addToQuota(row.units, -row.units);
      this.rows += 2; // the `unreported` event, UPDATE leases
      row.state = "unreported";
      this.unreportedPermits += row.permits;
    }
    if (any) this.transactions++;
  }

  /** When the alarm must next run for leases (ensureAlarm(expiresAt + REPORT_GRACE_MS)), or null. */
  nextLeaseAlarm() {
    while (this.openHead < this.open.length && this.open[this.openHead].state !== "open") this.openHead++;
    return this.openHead < this.open.length ? this.open[this.openHead].expiresAt + this.graceMs : null;
  }

  quotaCounter(periodStart) {
    if (this.periodStart === null) this.periodStart = periodStart;
    if (periodStart !== this.periodStart) throw new Error("a simulated run crossed a quota period");
    return this.counter;
  }

  /** TenantLimiter.addToQuota: clamped at 0, as there. */
  addToQuota(used, reserved) {
    this.counter.used = Math.max(0, this.counter.used + used);
    this.counter.reserved = Math.max(0, this.counter.reserved + reserved);
    this.rows++;
  }
}
