// The tenant's admission state that the request path reads (CONTRACT §2: rate buckets, quota
// counters per period, held admissions in flight, the Retry-After last given), held in memory and
// written through to SQLite in the caller's transaction, so a decision reads no row (issue 15).
import type { EffectivePolicy } from "./policy";
import type { QuotaCounter, SurfaceState } from "./decide";
import type { SurfaceLimits } from "./protocol";
import { periodBounds, secondsToPeriodEnd } from "./quota-period";
import { refill, view as bucketView, type BucketState } from "./token-bucket";

export class AdmissionCounters {
  private buckets = new Map<string, BucketState>();
  private quotas = new Map<string, QuotaCounter>();
  private slots = new Map<string, number>();
  private retryAfterUntil = new Map<string, number>();

  /** Rebuilt from SQLite when the object starts (quota counters load on first use). */
  constructor(private readonly sql: SqlStorage) {
    for (const b of sql.exec<{ surface: string; tokens: number; updated_at: number }>("SELECT * FROM buckets")) {
      this.buckets.set(b.surface, { tokens: b.tokens, updatedAt: b.updated_at });
    }
    for (const r of sql.exec<{ surface: string; until: number }>("SELECT * FROM retry_after")) this.retryAfterUntil.set(r.surface, r.until);
    for (const a of sql.exec<{ surface: string; n: number }>("SELECT surface, COUNT(*) AS n FROM admissions WHERE slot_open = 1 AND state != 'expired' GROUP BY surface")) {
      this.slots.set(a.surface, a.n);
    }
  }

  bucket(surface: string): BucketState | null {
    return this.buckets.get(surface) ?? null;
  }

  /** A held admission counts in flight until it is settled. */
  takeSlot(surface: string): void {
    this.slots.set(surface, (this.slots.get(surface) ?? 0) + 1);
  }

  limitsOf(policy: EffectivePolicy, now: number): SurfaceLimits {
    const inFlight = this.slots.get(policy.surface) ?? 0;
    const limits: SurfaceLimits = { inFlight };
    if (policy.rate) {
      const state = refill(this.bucket(policy.surface), policy.rate, now);
      limits.rate = { ...bucketView(state, policy.rate), window: policy.rate.window };
    }
    if (policy.quota) {
      const bounds = periodBounds(policy.quota.period, now);
      const counter = this.quotaCounter(policy.surface, bounds.start);
      limits.quota = {
        limit: policy.quota.limit,
        used: counter.used,
        remaining: Math.max(0, policy.quota.limit - counter.used - counter.reserved),
        periodStart: new Date(bounds.start).toISOString(),
        periodEnd: new Date(bounds.end).toISOString(),
        reset: secondsToPeriodEnd(policy.quota.period, now),
        period: policy.quota.period,
      };
    }
    if (policy.concurrency !== undefined) limits.concurrency = { limit: policy.concurrency, inFlight };
    return limits;
  }

  /** What the decision reads of a surface: all of it in memory (the quota counter loaded once). */
  surfaceState(surface: string): SurfaceState {
    return {
      bucket: this.buckets.get(surface) ?? null,
      quota: (periodStart) => this.quotaCounter(surface, periodStart),
      inFlight: this.slots.get(surface) ?? 0,
    };
  }

  /**
   * Open concurrency slots (an admission's slot is freed by its settle, or at its lease's end by
   * the alarm: a Worker that died never holds one longer than that).
   */
  freeSlot(surface: string): void {
    const n = (this.slots.get(surface) ?? 0) - 1;
    if (n > 0) this.slots.set(surface, n);
    else this.slots.delete(surface);
  }

  saveBucket(surface: string, state: BucketState): void {
    this.sql.exec("INSERT OR REPLACE INTO buckets (surface, tokens, updated_at) VALUES (?, ?, ?)", surface, state.tokens, state.updatedAt);
    this.buckets.set(surface, state);
  }

  /** The counter of one period, read from SQLite once and then kept in memory. */
  quotaCounter(surface: string, periodStart: number): QuotaCounter {
    const id = `${surface}\u0000${periodStart}`;
    let counter = this.quotas.get(id);
    if (!counter) {
      const row = this.sql.exec<{ used: number; reserved: number }>("SELECT used, reserved FROM quotas WHERE surface = ? AND period_start = ?", surface, periodStart).toArray()[0];
      counter = row ? { used: row.used, reserved: row.reserved } : { used: 0, reserved: 0 };
      if (this.quotas.size > 1000) this.quotas.clear(); // old periods and surfaces: reread on demand
      this.quotas.set(id, counter);
    }
    return counter;
  }

  /** Moves a quota counter (inside the caller's transaction), in SQLite and in memory alike. */
  addToQuota(surface: string, periodStart: number, used: number, reserved: number): void {
    const counter = this.quotaCounter(surface, periodStart);
    counter.used = Math.max(0, counter.used + used);
    counter.reserved = Math.max(0, counter.reserved + reserved);
    this.writeQuota(surface, periodStart, counter);
  }

  /**
   * Writes a counter the caller moved in memory (inside its transaction), and keeps it: a caller
   * moving many counters holds them itself, since this cache may drop them meanwhile.
   */
  writeQuota(surface: string, periodStart: number, counter: QuotaCounter): void {
    this.quotas.set(`${surface}\u0000${periodStart}`, counter);
    this.sql.exec(
      "INSERT INTO quotas (surface, period_start, used, reserved) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET used = excluded.used, reserved = excluded.reserved",
      surface,
      periodStart,
      counter.used,
      counter.reserved,
    );
  }

  /** Whether this refusal came before the Retry-After last given on the surface (CONTRACT §2). */
  noteRetryAfter(surface: string, now: number, retryAfter: number): boolean {
    const until = this.retryAfterUntil.get(surface);
    const early = until !== undefined && now < until;
    this.sql.exec("INSERT OR REPLACE INTO retry_after (surface, until) VALUES (?, ?)", surface, now + retryAfter * 1000);
    this.retryAfterUntil.set(surface, now + retryAfter * 1000);
    return early;
  }

  /** Refills buckets and/or clears the current periods' usage, in SQLite (inside `transact`) and in memory. */
  reset(surface: string | null, what: "rate" | "quota" | "all", transact: (write: () => void) => void): void {
    const where = surface === null ? "" : " WHERE surface = ?";
    const args = surface === null ? [] : [surface];
    const mine = (s: string) => surface === null || s === surface;
    transact(() => {
      if (what !== "quota") this.sql.exec(`DELETE FROM buckets${where}`, ...args);
      // Reservations of requests in flight stay: they settle against the fresh counter.
      if (what !== "rate") this.sql.exec(`UPDATE quotas SET used = 0${where}`, ...args);
      if (what !== "quota") this.sql.exec(`DELETE FROM retry_after${where}`, ...args);
    });
    if (what !== "quota") for (const s of [...this.buckets.keys()]) if (mine(s)) this.buckets.delete(s);
    if (what !== "quota") for (const s of [...this.retryAfterUntil.keys()]) if (mine(s)) this.retryAfterUntil.delete(s);
    if (what !== "rate") for (const [k, counter] of this.quotas) if (mine(k.slice(0, k.indexOf("\u0000")))) counter.used = 0;
  }
}
