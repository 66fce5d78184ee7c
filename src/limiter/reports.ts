// Outcomes reported after the fact (CONTRACT §11), the limiter's side: a batch of reports for one
// tenant priced, counted in its quota periods and recorded, in a few statements whatever its size
// (a statement per event was most of the endpoint's time, issue 14). Runs inside the caller's
// transaction.
import { chargeFor } from "../pricing/charge";
import type { AdmissionCounters } from "./counters";
import type { QuotaCounter } from "./decide";
import { grantFor } from "./delegation";
import { effectivePolicy } from "./policy";
import type { GrantState, PartnerState, ReportRequest, ReportResult, TenantState } from "./protocol";
import { periodBounds } from "./quota-period";
import { recordEvents, type NewEvent } from "./usage-log";

/** What a batch of reports reads and moves in the tenant's limiter. */
export interface ReportLedger {
  sql: SqlStorage;
  counters: AdmissionCounters;
  tenant: TenantState;
  grants: Map<string, GrantState>;
  partners: Map<string, PartnerState>;
}

/**
 * Each report's units priced with the tenant's plan now and the originating request's incentives
 * (the payer's plan for a partner-paid call), counted in the quota period of its time, never
 * refused; a report id seen before (or earlier in the batch) is a duplicate.
 */
export function acceptReports(ledger: ReportLedger, req: ReportRequest, now: number): ReportResult {
  const { tenant } = ledger;
  const result: ReportResult = { accepted: [], duplicates: [] };
  const known = req.reports.filter((r) => req.terms[r.surface] !== undefined);
  // One statement claims every id: those it inserted are new, any other is a duplicate (of
  // an earlier report, or of an earlier event in this batch).
  const fresh = new Set(
    ledger.sql
      .exec<{ id: string }>("INSERT OR IGNORE INTO reports_seen (id, at) SELECT value, ? FROM json_each(?) RETURNING id", now, JSON.stringify(known.map((r) => r.id)))
      .toArray()
      .map((row) => row.id),
  );
  const events: NewEvent[] = [];
  // The quota counters this batch moves, held here until they are written once each below.
  const moved = new Map<string, { surface: string; periodStart: number; counter: QuotaCounter }>();
  for (const r of known) {
    if (!fresh.delete(r.id)) {
      result.duplicates.push(r.id);
      continue;
    }
    const terms = req.terms[r.surface]!;
    const limitsPolicy = effectivePolicy(tenant, r.surface, terms);
    // A customer-paid delegated call earns its partner the share of the grant in force now.
    const grant = r.attribution && r.attribution.payer !== r.attribution.actor ? grantFor(ledger.grants.values(), r.attribution.actor, r.surface, now) : null;
    const attribution = r.attribution ? { ...r.attribution, sharePpm: grant?.sharePpm ?? 0 } : null;
    const partner = attribution && attribution.payer === attribution.actor ? ledger.partners.get(attribution.actor) : undefined;
    const partnerPolicy = partner ? effectivePolicy(partner, r.surface, terms) : null;
    const policy = partnerPolicy ? { ...limitsPolicy, rule: partnerPolicy.rule, incentives: partnerPolicy.incentives, price: partnerPolicy.price } : limitsPolicy;
    let position = 0;
    let periodStart: number | null = null;
    let counter: QuotaCounter | null = null;
    if (limitsPolicy.quota) {
      periodStart = periodBounds(limitsPolicy.quota.period, r.time).start;
      const id = `${r.surface}\u0000${periodStart}`;
      counter = moved.get(id)?.counter ?? null;
      if (!counter) moved.set(id, { surface: r.surface, periodStart, counter: (counter = ledger.counters.quotaCounter(r.surface, periodStart)) });
      position = counter.used + counter.reserved;
    }
    const charge = chargeFor(policy, r.units, position, { idempotencyKey: ((r.signals ?? 0) & 2) !== 0, notModified: false });
    if (counter) counter.used += charge.units;
    events.push({
      at: r.time,
      requestId: `report:${r.id}`,
      surface: r.surface,
      status: 0,
      outcome: "reported",
      units: charge.units,
      cost: charge.cost,
      savings: charge.savings,
      incentives: charge.incentives,
      catalogVersion: r.catalogVersion,
      attribution,
      ...(r.signals !== undefined && { signals: r.signals }),
      ...(r.requestId !== undefined && { origin: r.requestId }),
    });
    result.accepted.push(r.id);
  }
  recordEvents(ledger.sql, events);
  for (const { surface, periodStart, counter } of moved.values()) ledger.counters.writeQuota(surface, periodStart, counter);
  return result;
}
