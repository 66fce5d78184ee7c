// Leased admission, the limiter's side (CONTRACT §6): the leases of permits granted to Worker
// isolates — granted inside an admission's transaction, reported with usage, or counted
// `unreported` when their holder never reports (the pure sizing is in leases.ts).
import type { AdmissionCounters } from "./counters";
import { leaseTermsOf, REPORT_GRACE_MS, sizeLease } from "./leases";
import type { EffectivePolicy } from "./policy";
import type { LeaseGrant, LeaseReport } from "./protocol";
import { recordEvent } from "./usage-log";
import type { LimiterStorage } from "./atomic";

/** An unreported lease's row is kept this long after the lease's end, so a late report corrects it. */
export const UNREPORTED_KEPT_MS = 60 * 60 * 1000;

export class LeaseBook {
  /** Leases granted since the object started (`stats`). */
  granted = 0;
  private readonly sql: SqlStorage;

  constructor(
    private readonly storage: LimiterStorage,
    private readonly counters: AdmissionCounters,
  ) {
    this.sql = storage.sql;
  }

  /**
   * Permits for the isolate's next requests on a leased surface (CONTRACT §6), inside the
   * admission's transaction: rate tokens taken now, quota units reserved until the lease is
   * reported. Null when none can be granted (the bucket or a blocking quota is empty).
   */
  grant(policy: EffectivePolicy, periodStart: number | null, unitsPerPermit: number, catalogVersion: number, now: number): LeaseGrant | undefined {
    const terms = leaseTermsOf(policy);
    if (!terms) return undefined;
    const counter = periodStart === null ? null : this.counters.quotaCounter(policy.surface, periodStart);
    const size = sizeLease(policy, this.counters.bucket(policy.surface), counter, unitsPerPermit, terms.permits, now);
    if (size.permits === 0) return undefined;
    const position = counter ? counter.used + counter.reserved : 0;
    if (size.bucket) this.counters.saveBucket(policy.surface, size.bucket);
    if (periodStart !== null && size.units > 0) this.counters.addToQuota(policy.surface, periodStart, 0, size.units);
    this.granted++;
    const lease: LeaseGrant = {
      leaseId: crypto.randomUUID(),
      surface: policy.surface,
      permits: size.permits,
      units: size.units,
      periodStart,
      position,
      expiresAt: now + Math.round(terms.seconds * 1000),
      policy,
      limits: { inFlight: 0 },
    };
    this.sql.exec(
      "INSERT INTO leases (id, surface, period_start, permits, units, granted_at, expires_at, catalog_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      lease.leaseId,
      lease.surface,
      periodStart,
      lease.permits,
      lease.units,
      now,
      lease.expiresAt,
      catalogVersion,
    );
    return lease;
  }

  /**
   * A lease's usage: recorded as weighted usage events, its used units moved from reserved to
   * used and the rest given back to the quota, its row deleted. Idempotent. A lease already counted unreported
   * (its report came after the grace) is corrected: its permits leave `unreported`.
   */
  applyReport(report: LeaseReport, now: number): void {
    const row = this.sql.exec<{ surface: string; period_start: number | null; permits: number; units: number; state: string; catalog_version: number }>("SELECT * FROM leases WHERE id = ?", report.leaseId).toArray()[0];
    if (!row || row.state === "reported") return;
    const usedUnits = report.usage.filter((u) => u.outcome === "charged").reduce((n, u) => n + u.units, 0);
    this.storage.transactionSync(() => {
      for (const u of report.usage) {
        recordEvent(this.sql, { at: now, requestId: "", surface: row.surface, status: 0, outcome: u.outcome, reason: "leased", weight: u.count, units: u.units, cost: u.cost, savings: u.savings, incentives: u.incentives, catalogVersion: row.catalog_version });
      }
      if (row.period_start !== null) {
        // An unreported lease's units were all counted used; an open one's are still reserved.
        if (row.state === "unreported") this.counters.addToQuota(row.surface, row.period_start, usedUnits - row.units, 0);
        else this.counters.addToQuota(row.surface, row.period_start, usedUnits, -row.units);
      }
      if (row.state === "unreported") recordEvent(this.sql, { at: now, requestId: "", surface: row.surface, status: 0, outcome: "unreported", weight: -row.permits, catalogVersion: row.catalog_version });
      // Reported: nothing is left to do for it (a repeated report finds no row and changes nothing).
      this.sql.exec("DELETE FROM leases WHERE id = ?", report.leaseId);
    });
  }

  /**
   * Leases whose holder did not report within REPORT_GRACE_MS of their end: their permits count
   * `unreported`, and their quota units stay used (what happened with them is unknown, and
   * admission must never exceed a limit). Old lease rows are deleted.
   */
  expire(now: number): void {
    const due = this.sql.exec<{ id: string; surface: string; period_start: number | null; permits: number; units: number; catalog_version: number }>("SELECT * FROM leases WHERE state = 'open' AND expires_at <= ?", now - REPORT_GRACE_MS).toArray();
    this.storage.transactionSync(() => {
      for (const row of due) {
        if (row.period_start !== null) this.counters.addToQuota(row.surface, row.period_start, row.units, -row.units);
        recordEvent(this.sql, { at: now, requestId: "", surface: row.surface, status: 0, outcome: "unreported", weight: row.permits, catalogVersion: row.catalog_version });
        this.sql.exec("UPDATE leases SET state = 'unreported' WHERE id = ?", row.id);
      }
      this.sql.exec("DELETE FROM leases WHERE state != 'open' AND expires_at <= ?", now - UNREPORTED_KEPT_MS);
    });
  }
}
