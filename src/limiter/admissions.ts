// Held admissions (CONTRACT §6): opened by `admit`, settled by the Worker once their answer has
// ended, or by the limiter at the end of their lease; and refunds of admissions charged at
// admission whose origin failed. Each in one transaction with its usage event.
import { chargeFor, type Charge } from "../pricing/charge";
import type { AdmissionCounters } from "./counters";
import type { EffectivePolicy } from "./policy";
import type { Allowed } from "./decide";
import { IDEMPOTENCY_TTL_MS, type IdempotencyClaim } from "./idempotency";
import type { Attribution, RefundRequest, RefusalCode, SettleRequest, Settlement } from "./protocol";
import { recordEvent } from "./usage-log";
import type { LimiterStorage } from "./atomic";

export interface AdmissionRow extends Record<string, SqlStorageValue> {
  id: string;
  position: number;
  surface: string;
  request_id: string;
  policy: string;
  period_start: number | null;
  reserved: number;
  expires_at: number;
  slot_open: number;
  state: "open" | "settled" | "expired";
  units: number | null;
  provisional: string | null;
  settlement: string | null;
  catalog_version: number;
  idempotency_key: string | null;
  /** A delegated call's Attribution (JSON), or null for the tenant's own. */
  attribution: string | null;
  signals: number;
  shadow: string | null;
}

const shadowOf = (row: { shadow: string | null }): string[] | null => (row.shadow === null ? null : row.shadow.split(","));

const attributionOf = (row: { attribution: string | null }): Attribution | null => (row.attribution === null ? null : (JSON.parse(row.attribution) as Attribution));

/** An admission settled by its lease's end is kept this long so a late settle corrects it, not doubles it. */
export const LATE_SETTLE_MS = 60 * 60 * 1000;

export const nothingCharged: Settlement = { charged: false, units: 0, cost: 0, savings: 0, incentives: [] };

/** A settlement as an expired admission's row keeps it: `late` once a late settle added its units. */
interface StoredSettlement extends Settlement {
  late?: boolean;
}

const publicSettlement = ({ charged, units, cost, savings, incentives }: StoredSettlement): Settlement => ({ charged, units, cost, savings, incentives });

export const settlementOf = (c: Charge): Settlement => ({ charged: true, units: c.units, cost: c.cost, savings: c.savings, incentives: c.incentives });

/** What a held admission keeps until it is settled (see `open`). */
export interface Opening {
  surface: string;
  requestId: string;
  units: number | null;
  leaseMs: number;
  catalogVersion: number;
  decision: Allowed;
  policy: EffectivePolicy;
  provisional: Charge | null;
  shadow: RefusalCode[];
  idempotency: IdempotencyClaim | undefined;
  attribution: Attribution | null;
  signals: number;
}

export class AdmissionBook {
  private readonly sql: SqlStorage;

  constructor(
    private readonly storage: LimiterStorage,
    private readonly counters: AdmissionCounters,
  ) {
    this.sql = storage.sql;
  }

  /**
   * Holds an admission until its answer ends (CONTRACT §6): the decision's token and reserved
   * units, its row (priced at the position it holds), its Idempotency-Key as in flight, and its
   * concurrency slot — one transaction. Unknown units reserve one unit until the response tells.
   * `firstRecord`: the first live idempotency record, so the caller schedules their purge.
   */
  open(a: Opening, now: number): { admissionId: string; firstRecord: boolean } {
    const admissionId = crypto.randomUUID();
    const { bucket, periodStart, position } = a.decision;
    const reserve = a.units ?? 1;
    const shadowed = a.shadow.length > 0;
    let firstRecord = false;
    this.storage.transactionSync(() => {
      if (bucket) this.counters.saveBucket(a.surface, bucket);
      if (periodStart !== null) this.counters.addToQuota(a.surface, periodStart, 0, reserve);
      this.sql.exec(
        "INSERT INTO admissions (id, surface, request_id, policy, period_start, reserved, admitted_at, expires_at, slot_open, catalog_version, idempotency_key, units, provisional, position, attribution, signals, shadow) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        admissionId,
        a.surface,
        a.requestId,
        JSON.stringify(a.policy),
        periodStart,
        periodStart === null ? 0 : reserve,
        now,
        now + a.leaseMs,
        shadowed ? 0 : 1, // every held admission counts in flight until settled (a shadow-refused one as refused: not); only `concurrency` refuses on it
        a.catalogVersion,
        a.idempotency?.key ?? null,
        a.units,
        a.provisional === null ? null : JSON.stringify(a.provisional),
        position,
        a.attribution === null ? null : JSON.stringify(a.attribution),
        a.signals,
        shadowed ? a.shadow.join(",") : null,
      );
      if (a.idempotency) {
        firstRecord = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM idempotency WHERE expires_at > ?", now).one().n === 0;
        this.sql.exec(
          "INSERT OR REPLACE INTO idempotency (key, fingerprint, admission_id, state, created_at, expires_at) VALUES (?, ?, ?, 'in-flight', ?, ?)",
          a.idempotency.key,
          a.idempotency.fingerprint,
          admissionId,
          now,
          now + IDEMPOTENCY_TTL_MS,
        );
      }
    });
    if (!shadowed) this.counters.takeSlot(a.surface);
    return { admissionId, firstRecord };
  }

  /**
   * Settles a held admission once its answer has ended (CONTRACT §6: after the response started,
   * off the critical path): charges its units (null: the origin failed, or Tollgate refused after
   * admission, and nothing is charged), frees its slot, keeps or frees its idempotency record, and
   * records its usage event — one transaction. It prices with the position the admission held, so
   * the charge equals the one the Worker computed for the answer's headers. Idempotent: settling
   * twice answers the first settlement. An admission the limiter already settled at the end of its
   * lease keeps that charge, except that units measured from the response, which the lease's end
   * charged as 0, are added by a late settle.
   */
  settle(req: SettleRequest, now: number): Settlement {
    const row = this.sql.exec<AdmissionRow>("SELECT * FROM admissions WHERE id = ?", req.admissionId).toArray()[0];
    if (!row) return nothingCharged; // settled at its lease's end long ago: not found any more
    if (row.state === "settled") return publicSettlement(JSON.parse(row.settlement!) as StoredSettlement);
    const policy = JSON.parse(row.policy) as EffectivePolicy;
    if (row.state === "expired") return this.settleLate(row, policy, req, now);

    const settlement: Settlement = req.units === null ? nothingCharged : settlementOf(chargeFor(policy, req.units, row.position, req.signals));
    this.storage.transactionSync(() => {
      if (row.period_start !== null) this.counters.addToQuota(row.surface, row.period_start, settlement.units, -row.reserved);
      if (row.idempotency_key !== null) this.settleIdempotency(row, req);
      // Settled: nothing is left to do for it, so its row goes (storage stays bounded, CONTRACT §6).
      this.sql.exec("DELETE FROM admissions WHERE id = ?", row.id);
      recordEvent(this.sql, {
        at: now,
        requestId: row.request_id,
        surface: row.surface,
        status: req.status,
        outcome: settlement.charged ? "charged" : (req.outcome ?? "failed"),
        ...(req.reason !== undefined && { reason: req.reason }),
        units: settlement.units,
        cost: settlement.cost,
        savings: settlement.savings,
        incentives: settlement.incentives,
        catalogVersion: row.catalog_version,
        attribution: attributionOf(row),
        signals: row.signals,
        shadow: shadowOf(row),
      });
    });
    if (row.slot_open === 1) this.counters.freeSlot(row.surface);
    return settlement;
  }

  /**
   * A charged admission whose origin failed (≥ 500, unreachable, timed out, an invalid status, a
   * body broken off): the charge is taken back and the request counted failed, not charged.
   * Idempotent by request id. Answers false when it was already refunded.
   */
  refund(req: RefundRequest, now: number): boolean {
    let refunded = false;
    this.storage.transactionSync(() => {
      refunded = this.sql.exec("INSERT OR IGNORE INTO refunds (request_id, at) VALUES (?, ?)", req.requestId, now).rowsWritten > 0;
      if (!refunded) return;
      if (req.periodStart !== null) this.counters.addToQuota(req.surface, req.periodStart, -req.charge.units, 0);
      const c = req.charge;
      recordEvent(this.sql, { at: now, requestId: req.requestId, surface: req.surface, status: req.status, outcome: "voided", reason: req.reason, units: c.units, cost: c.cost, savings: c.savings, incentives: c.incentives, attribution: req.attribution ?? null });
    });
    return refunded;
  }

  /**
   * CONTRACT §6: an admission never settled is settled at its lease's end — slot and idempotency
   * key freed, request-known units charged at the price computed at admission, units measured
   * from the response charged as 0, counted `unsettled`. Its row stays LATE_SETTLE_MS so a settle
   * that arrives after all corrects it instead of counting it twice; settled rows are deleted.
   */
  expire(now: number): void {
    const due = this.sql.exec<AdmissionRow>("SELECT * FROM admissions WHERE (state != 'expired' AND expires_at <= ?) OR (state = 'expired' AND expires_at <= ?)", now, now - LATE_SETTLE_MS).toArray();
    if (due.length === 0) return;
    this.storage.transactionSync(() => {
      for (const row of due) {
        if (row.state !== "open") {
          this.sql.exec("DELETE FROM admissions WHERE id = ?", row.id);
          if (row.slot_open === 1) this.counters.freeSlot(row.surface);
          continue;
        }
        const provisional = row.provisional === null ? null : (JSON.parse(row.provisional) as Charge);
        const settlement: Settlement = provisional ? settlementOf(provisional) : { ...nothingCharged, charged: true };
        if (row.period_start !== null) this.counters.addToQuota(row.surface, row.period_start, settlement.units, -row.reserved);
        if (row.idempotency_key !== null) this.sql.exec("DELETE FROM idempotency WHERE key = ? AND admission_id = ?", row.idempotency_key, row.id);
        this.sql.exec("UPDATE admissions SET state = 'expired', settlement = ?, reserved = 0, slot_open = 0 WHERE id = ?", JSON.stringify(settlement), row.id);
        if (row.slot_open === 1) this.counters.freeSlot(row.surface);
        recordEvent(this.sql, { at: now, requestId: row.request_id, surface: row.surface, status: 0, outcome: "unsettled", units: settlement.units, cost: settlement.cost, savings: settlement.savings, incentives: settlement.incentives, catalogVersion: row.catalog_version, attribution: attributionOf(row), signals: row.signals, shadow: shadowOf(row) });
      }
    });
  }

  /** A settle after the lease's end: only units measured from the response are still added. */
  private settleLate(row: AdmissionRow, policy: EffectivePolicy, req: SettleRequest, now: number): Settlement {
    const recorded = JSON.parse(row.settlement!) as StoredSettlement;
    if (row.units !== null || req.units === null || req.units === 0 || recorded.late) return publicSettlement(recorded);
    let settlement: Settlement = recorded;
    this.storage.transactionSync(() => {
      settlement = settlementOf(chargeFor(policy, req.units!, row.position, req.signals));
      if (row.period_start !== null) this.counters.addToQuota(row.surface, row.period_start, settlement.units, 0);
      this.sql.exec("UPDATE admissions SET settlement = ? WHERE id = ?", JSON.stringify({ ...settlement, late: true }), row.id);
      recordEvent(this.sql, { at: now, requestId: row.request_id, surface: row.surface, status: req.status, outcome: "late", units: settlement.units, cost: settlement.cost, savings: settlement.savings, incentives: settlement.incentives, catalogVersion: row.catalog_version, attribution: attributionOf(row) });
    });
    return settlement;
  }

  /** Keeps the answer of a request that completed below 500; otherwise frees the key for a retry. */
  private settleIdempotency(row: AdmissionRow, req: SettleRequest): void {
    const keep = req.units !== null && req.status < 500 && req.response !== undefined;
    if (!keep) {
      this.sql.exec("DELETE FROM idempotency WHERE key = ? AND admission_id = ?", row.idempotency_key, row.id);
      return;
    }
    const r = req.response!;
    this.sql.exec(
      "UPDATE idempotency SET state = 'done', status = ?, status_text = ?, headers = ?, body = ? WHERE key = ? AND admission_id = ?",
      r.status,
      r.statusText,
      JSON.stringify(r.headers),
      r.body,
      row.idempotency_key,
      row.id,
    );
  }
}
