// One TenantLimiter per tenant (CONTRACT §1). It holds the tenant's authoritative status and keys
// (so revocation and suspension bite on the very next request), token buckets, quota counters,
// in-flight admissions and unflushed usage events. Every RPC method runs synchronous SQLite
// statements without awaiting in between, so each call is atomic: concurrent requests never
// over-admit. Policies are passed in by the caller (see policy.ts).
import { DurableObject } from "cloudflare:workers";
import { systemClock, type Clock } from "../clock";
import { problemStatus } from "../problems";
import { chargeFor, type Charge } from "../pricing/charge";
import type { PatternSignals } from "../pricing/incentives";
import {
  IDEMPOTENCY_SCHEMA,
  IDEMPOTENCY_TTL_MS,
  verdictOf,
  type IdempotencyClaim,
  type IdempotencyRow,
  type StoredResponse,
} from "./idempotency";
import { effectivePolicy, ruleRefusal, type EffectivePolicy, type SurfaceTerms, type TenantTerms } from "./policy";
import { periodBounds, secondsToPeriodEnd } from "./quota-period";
import { flushToD1 } from "../metering/flush";
import { rollUp, type UsageEvent } from "../metering/rollup";
import { writeUsageSummary } from "../metering/summary";
import { take, view as bucketView, refill, type BucketState } from "./token-bucket";

export interface TenantState extends TenantTerms {
  id: string;
  status: "active" | "suspended";
  deleted: boolean;
}

export type RefusalCode =
  | "unauthenticated"
  | "key-revoked"
  | "tenant-suspended"
  | "surface-prohibited"
  | "premium-required"
  | "concurrency-limited"
  | "rate-limited"
  | "quota-exhausted"
  | "idempotency-key-in-use"
  | "idempotency-key-reused";

export interface SurfaceLimits {
  rate?: { limit: number; remaining: number; reset: number; window: number };
  quota?: {
    limit: number;
    used: number;
    remaining: number;
    periodStart: string;
    periodEnd: string;
    reset: number;
    period: string;
  };
  concurrency?: { limit: number; inFlight: number };
  inFlight: number;
}

export interface AdmitRequest {
  requestId: string;
  keyId: string;
  surface: string;
  terms: SurfaceTerms;
  /** Units when known before forwarding (request count, json-array); null when only the response tells. */
  units: number | null;
  /** How long the admission holds its slot and reservation if it is never settled. */
  leaseMs: number;
  catalogVersion: number;
  /** For POST/PATCH carrying an Idempotency-Key (CONTRACT §3 Idempotency). */
  idempotency?: IdempotencyClaim;
}

export interface Refusal {
  kind: "refused";
  code: RefusalCode;
  detail: string;
  retryAfter?: number;
  violatedPolicies?: string[];
  earlyRetry?: boolean;
  policy?: EffectivePolicy;
  limits?: SurfaceLimits;
}

export type AdmitResult =
  | { kind: "admitted"; admissionId: string; policy: EffectivePolicy; limits: SurfaceLimits }
  | { kind: "replay"; response: StoredResponse; policy: EffectivePolicy }
  | Refusal;

export interface QuoteRequest {
  keyId: string;
  surface: string;
  terms: SurfaceTerms;
  units: number | null;
  signals: PatternSignals;
  idempotency?: IdempotencyClaim;
}

export type QuoteResult =
  | { kind: "allowed"; policy: EffectivePolicy; charge: Charge | null }
  | { kind: "replay"; policy: EffectivePolicy }
  | Refusal;

export interface SettleRequest {
  admissionId: string;
  status: number;
  /** Units to charge; null when the origin failed (≥ 500, timeout, unreachable): nothing is charged. */
  units: number | null;
  /** Keep the concurrency slot until `release` (the response body is still streaming). */
  holdSlot: boolean;
  signals: PatternSignals;
  /** The answer to keep for an idempotent request; absent when it was too large to keep. */
  response?: StoredResponse;
}

export interface Settlement {
  charged: boolean;
  units: number;
  cost: number; // micro-units
  savings: number; // micro-units
  incentives: string[];
}

const nothingCharged: Settlement = { charged: false, units: 0, cost: 0, savings: 0, incentives: [] };

interface AdmissionRow extends Record<string, SqlStorageValue> {
  id: string;
  surface: string;
  request_id: string;
  policy: string;
  period_start: number | null;
  reserved: number;
  expires_at: number;
  slot_open: number;
  settlement: string | null;
  catalog_version: number;
  idempotency_key: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tenant (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (id TEXT PRIMARY KEY, expires_at INTEGER, revoked_at INTEGER);
CREATE TABLE IF NOT EXISTS buckets (surface TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS quotas (
  surface TEXT NOT NULL, period_start INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0, reserved INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (surface, period_start));
CREATE TABLE IF NOT EXISTS admissions (
  id TEXT PRIMARY KEY, surface TEXT NOT NULL, request_id TEXT NOT NULL, policy TEXT NOT NULL,
  period_start INTEGER, reserved INTEGER NOT NULL, admitted_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, slot_open INTEGER NOT NULL DEFAULT 1, settlement TEXT,
  catalog_version INTEGER NOT NULL, idempotency_key TEXT);
CREATE INDEX IF NOT EXISTS admissions_expiry ON admissions (expires_at);
CREATE INDEX IF NOT EXISTS admissions_open ON admissions (surface, slot_open);
CREATE TABLE IF NOT EXISTS retry_after (surface TEXT PRIMARY KEY, until INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS usage_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, request_id TEXT NOT NULL,
  surface TEXT, status INTEGER NOT NULL, outcome TEXT NOT NULL, reason TEXT,
  early_retry INTEGER NOT NULL DEFAULT 0, units INTEGER NOT NULL DEFAULT 0,
  cost INTEGER NOT NULL DEFAULT 0, savings INTEGER NOT NULL DEFAULT 0, incentives TEXT,
  catalog_version INTEGER);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/** Usage events are flushed to the D1 rollups this long after they are recorded (at most). */
export const FLUSH_DELAY_MS = 5_000;
const FLUSH_BATCH = 500;
/** Raw usage events stay in the limiter this long after they are flushed (CONTRACT §5 retention, README). */
export const EVENT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

interface EventRow extends Record<string, SqlStorageValue> {
  seq: number;
  at: number;
  surface: string | null;
  outcome: UsageEvent["outcome"];
  early_retry: number;
  units: number;
  cost: number;
  savings: number;
  incentives: string | null;
}

const eventOf = (r: EventRow): UsageEvent => ({
  seq: r.seq,
  at: r.at,
  surface: r.surface,
  outcome: r.outcome,
  earlyRetry: r.early_retry === 1,
  units: r.units,
  cost: r.cost,
  savings: r.savings,
  incentives: r.incentives === null ? [] : (JSON.parse(r.incentives) as string[]),
});


type Evaluation =
  | { ok: true; policy: EffectivePolicy; bucket: BucketState | null; periodStart: number | null; usedBefore: number }
  | ({ ok: false } & Omit<Refusal, "kind">);

export class TenantLimiter extends DurableObject<Env> {
  /** Replaced by tests through runInDurableObject to drive time. */
  clock: Clock = systemClock;
  private readonly sql: SqlStorage;
  /** The alarm time last set by this instance; undefined when unknown (after start or an alarm). */
  private nextAlarm: number | null | undefined = undefined;
  /** The flush under way, if any (see flush). */
  private flushing: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      this.sql.exec(SCHEMA + IDEMPOTENCY_SCHEMA);
    });
  }

  // ---- tenant state, pushed by the admin API -------------------------------------------------

  putTenant(state: TenantState): void {
    this.sql.exec(
      "INSERT INTO tenant (singleton, body) VALUES (1, ?) ON CONFLICT (singleton) DO UPDATE SET body = excluded.body",
      JSON.stringify(state),
    );
  }

  getTenant(): TenantState | null {
    const row = this.sql.exec<{ body: string }>("SELECT body FROM tenant").toArray()[0];
    return row ? (JSON.parse(row.body) as TenantState) : null;
  }

  putKey(keyId: string, expiresAt: number | null): void {
    this.sql.exec("INSERT OR REPLACE INTO keys (id, expires_at, revoked_at) VALUES (?, ?, NULL)", keyId, expiresAt);
  }

  revokeKey(keyId: string): void {
    this.sql.exec("UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", this.clock.now(), keyId);
  }

  // ---- the request path -------------------------------------------------------------------------

  /**
   * Admission of one request (CONTRACT §3.3): key and tenant status, idempotency, rule,
   * concurrency, rate, quota. Everything before the final await is synchronous, so it is atomic.
   */
  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const now = this.clock.now();
    this.expireAdmissions(now);
    const tenant = this.getTenant();
    const denied = this.checkPrincipal(tenant, req.keyId, now);
    if (denied || !tenant) return { kind: "refused", ...(denied ?? { code: "unauthenticated", detail: "Unknown API key." }) };
    const policy = effectivePolicy(tenant, req.surface, req.terms);

    const refuse = (r: Omit<Refusal, "kind">): Refusal => {
      const early = problemStatus[r.code] === 429 ? this.noteRetryAfter(req.surface, now, r.retryAfter ?? 0) : false;
      this.recordEvent({ at: now, requestId: req.requestId, surface: req.surface, status: problemStatus[r.code], outcome: "rejected", reason: r.code, earlyRetry: early, catalogVersion: req.catalogVersion });
      return { kind: "refused", ...r, earlyRetry: early, policy, limits: this.limitsOf(policy, now) };
    };

    if (req.idempotency) {
      const verdict = verdictOf(this.idempotencyRow(req.idempotency.key), req.idempotency, now);
      if (verdict.kind === "in-use") return this.afterEvent(refuse({ code: "idempotency-key-in-use", detail: "A request with this Idempotency-Key is still in flight." }));
      if (verdict.kind === "reused") return this.afterEvent(refuse({ code: "idempotency-key-reused", detail: "This Idempotency-Key was used for a different request." }));
      if (verdict.kind === "replay") {
        this.recordEvent({ at: now, requestId: req.requestId, surface: req.surface, status: verdict.response.status, outcome: "replayed", catalogVersion: req.catalogVersion });
        return this.afterEvent({ kind: "replay", response: verdict.response, policy });
      }
    }

    const evaluation = this.evaluate(tenant, policy, req.units, now);
    if (!evaluation.ok) {
      const { ok: _, ...refusal } = evaluation;
      return this.afterEvent(refuse(refusal));
    }

    const admissionId = crypto.randomUUID();
    const reserve = req.units ?? 1; // unknown units hold one unit until the response tells
    const { bucket, periodStart } = evaluation;
    let firstRecord = false;
    this.ctx.storage.transactionSync(() => {
      if (bucket) this.saveBucket(req.surface, bucket);
      if (periodStart !== null) {
        this.sql.exec(
          "INSERT INTO quotas (surface, period_start, reserved) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET reserved = reserved + excluded.reserved",
          req.surface,
          periodStart,
          reserve,
        );
      }
      this.sql.exec(
        "INSERT INTO admissions (id, surface, request_id, policy, period_start, reserved, admitted_at, expires_at, catalog_version, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        admissionId,
        req.surface,
        req.requestId,
        JSON.stringify(policy),
        periodStart,
        periodStart === null ? 0 : reserve,
        now,
        now + req.leaseMs,
        req.catalogVersion,
        req.idempotency?.key ?? null,
      );
      if (req.idempotency) {
        firstRecord = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM idempotency WHERE expires_at > ?", now).one().n === 0;
        this.sql.exec(
          "INSERT OR REPLACE INTO idempotency (key, fingerprint, admission_id, state, created_at, expires_at) VALUES (?, ?, ?, 'in-flight', ?, ?)",
          req.idempotency.key,
          req.idempotency.fingerprint,
          admissionId,
          now,
          now + IDEMPOTENCY_TTL_MS,
        );
      }
    });
    const result: AdmitResult = { kind: "admitted", admissionId, policy, limits: this.limitsOf(policy, now) };
    if (firstRecord) await this.ensureAlarm(now + IDEMPOTENCY_TTL_MS);
    return result;
  }

  /**
   * What admission would answer now, and what a request-counted charge would be, with no side
   * effects: the same evaluation and pricing as a real request (CONTRACT §5 quote).
   */
  quote(req: QuoteRequest): QuoteResult {
    const now = this.clock.now();
    const tenant = this.getTenant();
    const denied = this.checkPrincipal(tenant, req.keyId, now);
    if (denied || !tenant) return { kind: "refused", ...(denied ?? { code: "unauthenticated", detail: "Unknown API key." }) };
    const policy = effectivePolicy(tenant, req.surface, req.terms);
    if (req.idempotency) {
      const verdict = verdictOf(this.idempotencyRow(req.idempotency.key), req.idempotency, now);
      if (verdict.kind === "in-use") return { kind: "refused", code: "idempotency-key-in-use", detail: "A request with this Idempotency-Key is still in flight.", policy };
      if (verdict.kind === "reused") return { kind: "refused", code: "idempotency-key-reused", detail: "This Idempotency-Key was used for a different request.", policy };
      if (verdict.kind === "replay") return { kind: "replay", policy };
    }
    const evaluation = this.evaluate(tenant, policy, req.units, now);
    if (!evaluation.ok) {
      const { ok: _, ...refusal } = evaluation;
      return { kind: "refused", ...refusal, policy, limits: this.limitsOf(policy, now) };
    }
    const charge = req.units === null ? null : chargeFor(policy, req.units, evaluation.usedBefore, req.signals);
    return { kind: "allowed", policy, charge };
  }

  /** The strong key and tenant check alone, read-only (used where nothing else is asked). */
  checkKey(keyId: string): { code: RefusalCode; detail: string } | null {
    return this.checkPrincipal(this.getTenant(), keyId, this.clock.now());
  }

  /**
   * A request refused before admission (no surface matched, invalid body): the key is checked
   * first, so a revoked key is told so whatever it asked; otherwise the refusal is recorded.
   */
  async refuse(req: { requestId: string; keyId: string; surface: string | null; code: string; status: number; catalogVersion: number | null }): Promise<{ code: RefusalCode; detail: string } | null> {
    const now = this.clock.now();
    const denied = this.checkPrincipal(this.getTenant(), req.keyId, now);
    if (denied) return denied;
    this.recordEvent({ at: now, requestId: req.requestId, surface: req.surface, status: req.status, outcome: "rejected", reason: req.code, ...(req.catalogVersion !== null && { catalogVersion: req.catalogVersion }) });
    return this.afterEvent(null);
  }

  /**
   * Charges (origin answered below 500) or releases (origin failed) an admission, and records its
   * usage event in the same transaction. Idempotent: settling twice answers the first settlement.
   */
  async settle(req: SettleRequest): Promise<Settlement> {
    const now = this.clock.now();
    const row = this.sql.exec<AdmissionRow>("SELECT * FROM admissions WHERE id = ?", req.admissionId).toArray()[0];
    if (!row) return nothingCharged; // lease expired: released uncharged
    if (row.settlement !== null) return JSON.parse(row.settlement) as Settlement;
    const policy = JSON.parse(row.policy) as EffectivePolicy;

    let settlement: Settlement = nothingCharged;
    this.ctx.storage.transactionSync(() => {
      let usedBefore = 0;
      if (row.period_start !== null) {
        usedBefore = this.quotaCounter(row.surface, row.period_start).used;
        this.sql.exec(
          "UPDATE quotas SET reserved = MAX(0, reserved - ?), used = used + ? WHERE surface = ? AND period_start = ?",
          row.reserved,
          req.units ?? 0,
          row.surface,
          row.period_start,
        );
      }
      if (req.units !== null) {
        const charge = chargeFor(policy, req.units, usedBefore, req.signals);
        settlement = { charged: true, units: charge.units, cost: charge.cost, savings: charge.savings, incentives: charge.incentives };
      }
      if (row.idempotency_key !== null) this.settleIdempotency(row, req);
      this.sql.exec(
        "UPDATE admissions SET settlement = ?, reserved = 0, slot_open = ? WHERE id = ?",
        JSON.stringify(settlement),
        req.holdSlot ? 1 : 0,
        row.id,
      );
      this.recordEvent({
        at: now,
        requestId: row.request_id,
        surface: row.surface,
        status: req.status,
        outcome: settlement.charged ? "charged" : "failed",
        units: settlement.units,
        cost: settlement.cost,
        savings: settlement.savings,
        incentives: settlement.incentives,
        catalogVersion: row.catalog_version,
      });
    });
    return this.afterEvent(settlement);
  }

  /**
   * Flushes usage to the D1 rollups, purges expired idempotency records and old flushed events —
   * never on the request path. A failed D1 write throws, and the runtime retries the alarm.
   */
  override async alarm(): Promise<void> {
    this.nextAlarm = undefined;
    await this.flush();
    const now = this.clock.now();
    this.sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
    this.sql.exec("DELETE FROM usage_events WHERE seq <= ? AND at <= ?", this.flushedThrough(), now - EVENT_RETENTION_MS);
    const candidates = [
      this.sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM idempotency").one().at,
      this.pendingEvents() > 0 ? now + FLUSH_DELAY_MS : null,
      ((at) => (at === null ? null : at + EVENT_RETENTION_MS))(this.sql.exec<{ at: number | null }>("SELECT MIN(at) AS at FROM usage_events").one().at),
    ].filter((at): at is number => at !== null);
    if (candidates.length > 0) await this.ensureAlarm(Math.max(now + 1, Math.min(...candidates)));
  }

  /**
   * Moves every unflushed usage event into the D1 rollups (exactly once, see metering/flush.ts)
   * and refreshes the tenant's current-period summary in KV. Usage reads call this first, so
   * they include every request answered before them.
   */
  async flush(): Promise<{ flushed: number }> {
    // One flush at a time per limiter: a usage read and the alarm would otherwise write the same
    // events twice to D1 (harmless, the watermark refuses the second, but wasted work).
    const run = this.flushing.then(() => this.flushPending());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushPending(): Promise<{ flushed: number }> {
    const tenant = this.getTenant();
    if (!tenant) return { flushed: 0 };
    let flushed = 0;
    for (;;) {
      const from = this.flushedThrough();
      const events = this.sql
        .exec<EventRow>("SELECT seq, at, surface, outcome, early_retry, units, cost, savings, incentives FROM usage_events WHERE seq > ? ORDER BY seq LIMIT ?", from, FLUSH_BATCH)
        .toArray()
        .map(eventOf);
      if (events.length === 0) break;
      const to = events.at(-1)!.seq;
      const watermark = await flushToD1(this.env.DB, { tenant: tenant.id, fromSeq: from, toSeq: to, deltas: rollUp(events) });
      // D1 may already be past `from` (a flush that crashed before recording its watermark here):
      // then this batch was refused, and the loop goes on from D1's watermark. Never move backwards.
      if (watermark <= from) throw new Error(`usage flush of ${tenant.id} did not apply: D1 watermark ${watermark}, expected > ${from}`);
      this.sql.exec(
        "INSERT INTO meta (name, value) VALUES ('flushed_through', ?) ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
        watermark,
      );
      flushed += events.filter((e) => e.seq <= watermark).length;
    }
    if (flushed > 0) await writeUsageSummary(this.env, tenant.id, this.clock.now());
    return { flushed };
  }

  /** Frees the concurrency slot of a settled admission once its response body has ended. */
  release(admissionId: string): void {
    this.sql.exec("UPDATE admissions SET slot_open = 0 WHERE id = ?", admissionId);
  }

  // ---- operators' views -------------------------------------------------------------------------

  limits(terms: Record<string, SurfaceTerms>): Record<string, SurfaceLimits> {
    const now = this.clock.now();
    this.expireAdmissions(now);
    const tenant = this.getTenant();
    if (!tenant) return {};
    return Object.fromEntries(
      Object.entries(terms).map(([surface, t]) => [surface, this.limitsOf(effectivePolicy(tenant, surface, t), now)]),
    );
  }

  reset(surface: string | null, what: "rate" | "quota" | "all"): void {
    const where = surface === null ? "" : " WHERE surface = ?";
    const args = surface === null ? [] : [surface];
    this.ctx.storage.transactionSync(() => {
      if (what !== "quota") this.sql.exec(`DELETE FROM buckets${where}`, ...args);
      // Reservations of requests in flight stay: they settle against the fresh counter.
      if (what !== "rate") this.sql.exec(`UPDATE quotas SET used = 0${where}`, ...args);
      if (what !== "quota") this.sql.exec(`DELETE FROM retry_after${where}`, ...args);
    });
  }

  // ---- internals ----------------------------------------------------------------------------------

  /** Rule, concurrency, rate and quota for a policy, without changing anything. */
  private evaluate(tenant: TenantState, policy: EffectivePolicy, units: number | null, now: number): Evaluation {
    const surface = policy.surface;
    const ruleCode = ruleRefusal(policy, tenant.addons);
    if (ruleCode === "surface-prohibited") return { ok: false, code: ruleCode, detail: `Surface "${surface}" is not available on plan "${tenant.plan}".` };
    if (ruleCode === "premium-required") return { ok: false, code: ruleCode, detail: `Surface "${surface}" needs the "${surface}" add-on.` };

    if (policy.concurrency !== undefined && this.inFlight(surface, now) >= policy.concurrency) {
      return { ok: false, code: "concurrency-limited", detail: `At most ${policy.concurrency} requests to "${surface}" may be in flight.`, retryAfter: 1, violatedPolicies: ["concurrency"] };
    }

    let bucket: BucketState | null = null;
    if (policy.rate) {
      const taken = take(this.bucket(surface), policy.rate, now);
      if (!taken.admitted) {
        return { ok: false, code: "rate-limited", detail: `Rate limit of ${policy.rate.limit} per ${policy.rate.window}s exceeded.`, retryAfter: taken.retryAfter, violatedPolicies: ["rate"] };
      }
      bucket = taken.state;
    }

    let periodStart: number | null = null;
    let usedBefore = 0;
    if (policy.quota) {
      periodStart = periodBounds(policy.quota.period, now).start;
      const counter = this.quotaCounter(surface, periodStart);
      usedBefore = counter.used;
      const taken = counter.used + counter.reserved;
      const exceeded = units === null ? taken >= policy.quota.limit : taken + units > policy.quota.limit;
      if (exceeded && policy.quota.overage === "block") {
        return {
          ok: false,
          code: "quota-exhausted",
          detail: `Quota of ${policy.quota.limit} ${policy.meter.unit} per ${policy.quota.period} used up.`,
          retryAfter: secondsToPeriodEnd(policy.quota.period, now),
          violatedPolicies: ["quota"],
        };
      }
    }
    return { ok: true, policy, bucket, periodStart, usedBefore };
  }

  private idempotencyRow(key: string): IdempotencyRow | undefined {
    return this.sql.exec<IdempotencyRow>("SELECT * FROM idempotency WHERE key = ?", key).toArray()[0];
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

  /** Makes sure an alarm fires no later than `at`. */
  private async ensureAlarm(at: number): Promise<void> {
    if (this.nextAlarm !== undefined && this.nextAlarm !== null && this.nextAlarm <= at) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) {
      await this.ctx.storage.setAlarm(at);
      this.nextAlarm = at;
    } else this.nextAlarm = current;
  }

  /** Every recorded usage event is flushed within FLUSH_DELAY_MS. */
  private async afterEvent<T>(result: T): Promise<T> {
    await this.ensureAlarm(this.clock.now() + FLUSH_DELAY_MS);
    return result;
  }

  private flushedThrough(): number {
    return this.sql.exec<{ value: number }>("SELECT value FROM meta WHERE name = 'flushed_through'").toArray()[0]?.value ?? 0;
  }

  private pendingEvents(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM usage_events WHERE seq > ?", this.flushedThrough()).one().n;
  }

  /** The strong check of a key and its tenant (CONTRACT §3.1, §4): null when they may proceed. */
  private checkPrincipal(tenant: TenantState | null, keyId: string, now: number): { code: RefusalCode; detail: string } | null {
    if (!tenant) return { code: "unauthenticated", detail: "Unknown API key." };
    const key = this.sql
      .exec<{ expires_at: number | null; revoked_at: number | null }>("SELECT expires_at, revoked_at FROM keys WHERE id = ?", keyId)
      .toArray()[0];
    if (tenant.deleted || !key || key.revoked_at !== null) return { code: "key-revoked", detail: "This API key has been revoked." };
    if (key.expires_at !== null && key.expires_at <= now) return { code: "key-revoked", detail: "This API key has expired." };
    if (tenant.status === "suspended") return { code: "tenant-suspended", detail: `Tenant "${tenant.id}" is suspended.` };
    return null;
  }

  private limitsOf(policy: EffectivePolicy, now: number): SurfaceLimits {
    const inFlight = this.inFlight(policy.surface, now);
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

  private inFlight(surface: string, now: number): number {
    const row = this.sql.exec<{ n: number }>(
      "SELECT COUNT(*) AS n FROM admissions WHERE surface = ? AND slot_open = 1 AND expires_at > ?",
      surface,
      now,
    ).one();
    return row.n;
  }

  private bucket(surface: string): BucketState | null {
    const row = this.sql.exec<{ tokens: number; updated_at: number }>("SELECT tokens, updated_at FROM buckets WHERE surface = ?", surface).toArray()[0];
    return row ? { tokens: row.tokens, updatedAt: row.updated_at } : null;
  }

  private saveBucket(surface: string, state: BucketState): void {
    this.sql.exec("INSERT OR REPLACE INTO buckets (surface, tokens, updated_at) VALUES (?, ?, ?)", surface, state.tokens, state.updatedAt);
  }

  private quotaCounter(surface: string, periodStart: number): { used: number; reserved: number } {
    const row = this.sql.exec<{ used: number; reserved: number }>(
      "SELECT used, reserved FROM quotas WHERE surface = ? AND period_start = ?",
      surface,
      periodStart,
    ).toArray()[0];
    return row ?? { used: 0, reserved: 0 };
  }

  /** Whether this refusal came before the Retry-After last given on the surface (CONTRACT §2). */
  private noteRetryAfter(surface: string, now: number, retryAfter: number): boolean {
    const row = this.sql.exec<{ until: number }>("SELECT until FROM retry_after WHERE surface = ?", surface).toArray()[0];
    const early = row !== undefined && now < row.until;
    this.sql.exec("INSERT OR REPLACE INTO retry_after (surface, until) VALUES (?, ?)", surface, now + retryAfter * 1000);
    return early;
  }

  /** Admissions never settled within their lease release their slot and reservation, uncharged. */
  private expireAdmissions(now: number): void {
    const expired = this.sql.exec<AdmissionRow>("SELECT * FROM admissions WHERE expires_at <= ?", now).toArray();
    if (expired.length === 0) return;
    this.ctx.storage.transactionSync(() => {
      for (const row of expired) {
        if (row.settlement === null && row.idempotency_key !== null) {
          this.sql.exec("DELETE FROM idempotency WHERE key = ? AND admission_id = ?", row.idempotency_key, row.id);
        }
        if (row.settlement === null && row.period_start !== null) {
          this.sql.exec(
            "UPDATE quotas SET reserved = MAX(0, reserved - ?) WHERE surface = ? AND period_start = ?",
            row.reserved,
            row.surface,
            row.period_start,
          );
        }
        this.sql.exec("DELETE FROM admissions WHERE id = ?", row.id);
      }
    });
  }

  private recordEvent(e: {
    at: number;
    requestId: string;
    surface: string | null;
    status: number;
    outcome: "charged" | "rejected" | "failed" | "replayed";
    reason?: string;
    earlyRetry?: boolean;
    units?: number;
    cost?: number;
    savings?: number;
    incentives?: string[];
    catalogVersion?: number;
  }): void {
    this.sql.exec(
      "INSERT INTO usage_events (at, request_id, surface, status, outcome, reason, early_retry, units, cost, savings, incentives, catalog_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      e.at,
      e.requestId,
      e.surface,
      e.status,
      e.outcome,
      e.reason ?? null,
      e.earlyRetry ? 1 : 0,
      e.units ?? 0,
      e.cost ?? 0,
      e.savings ?? 0,
      e.incentives && e.incentives.length > 0 ? JSON.stringify(e.incentives) : null,
      e.catalogVersion ?? null,
    );
  }
}
