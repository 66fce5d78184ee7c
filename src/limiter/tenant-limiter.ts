// One TenantLimiter per tenant (CONTRACT §1): the RPC surface the Worker and the admin API call,
// and the alarm. Every RPC method runs synchronous SQLite statements without awaiting in between,
// so each call is atomic: concurrent requests never over-admit. What it holds lives in a file each:
// the tenant, keys, grants and partners (principals.ts); the evaluation shared by admit and quote
// (evaluate.ts, decide.ts); buckets, quota counters and slots (counters.ts); held admissions
// (admissions.ts); leases (lease-book.ts); idempotency (idempotency.ts); usage events
// (usage-log.ts) and their flush (flusher.ts); refusals before admission (refusals.ts); reports
// (reports.ts); governance alerts (alerts.ts). RPC shapes are in protocol.ts, tables in schema.ts.
import { DurableObject } from "cloudflare:workers";
import { systemClock, type Clock } from "../clock";
import { problemStatus } from "../problems";
import { chargeFor } from "../pricing/charge";
import { IDEMPOTENCY_TTL_MS, type IdempotencyRow } from "./idempotency";
import { authorize, judge, type Caller } from "./evaluate";
import { REPORT_GRACE_MS } from "./leases";
import { effectivePolicy, type EffectivePolicy, type SurfaceTerms } from "./policy";
import type {
  AdmitRequest,
  AdmitResult,
  BatchedAdmission,
  GrantState,
  LeaseGrant,
  LeaseReport,
  LimiterStats,
  PartnerState,
  ReportRequest,
  ReportResult,
  RefundRequest,
  PreAdmissionRefusal,
  QuoteRequest,
  QuoteResult,
  Refusal,
  RefusalCode,
  SettleRequest,
  Settlement,
  SurfaceLimits,
  TenantState,
  TenantWrite,
} from "./protocol";
import { acceptReports } from "./reports";
import { migrate } from "./schema";
import { guardedStorage, type LimiterStorage } from "./atomic";
import { FLUSH_DELAY_MS, UsageFlusher, type SummaryWhen } from "./flusher";
import { Principals } from "./principals";
import { AdmissionCounters } from "./counters";
import { LeaseBook, UNREPORTED_KEPT_MS } from "./lease-book";
import { AdmissionBook, LATE_SETTLE_MS } from "./admissions";
import { AlertBook } from "./alerts";
import { emitEvents } from "../webhooks/emit";
import { HOUR_MS, recordEvent, unflushedEvents } from "./usage-log";
import { EarlyRefusals, REFUSAL_PERSIST_MS } from "./refusals";

export type * from "./protocol";
export { FLUSH_DELAY_MS, SUMMARY_EVERY_MS } from "./flusher";
/** Raw usage events stay in the limiter this long after they are flushed (CONTRACT §6 USAGE_EVENT_DAYS default). */
export const EVENT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
export { REFUSAL_PERSIST_MS, REFUSAL_RATE } from "./refusals";
/** Refunds are remembered this long, so a refund retried after a lost answer counts once. */
const REFUND_MEMORY_MS = 24 * 60 * 60 * 1000;
/** A report arriving while this many usage events wait for the flush waits for it first (issue 14). */
export const REPORT_BACKLOG_EVENTS = 10_000;
/** Report ids are remembered this long (CONTRACT §11 LATE_USAGE_DAYS, 35), past the oldest time a report may carry. */
export const LATE_USAGE_MS = 35 * 24 * 60 * 60 * 1000;
/** A hand-over of governance events the hub did not take is tried again this much later. */
const OUTBOX_RETRY_MS = 30_000;
/**
 * The alarm's purges (expired idempotency records, old refunds, report ids, hourly history) and
 * the deadlines hours or days away are looked at this often while alarms keep coming, not on each
 * 5-s flush alarm: a purge a minute late changes no answer (an expired record is already treated
 * as absent), and it saves a busy tenant's alarm ten statements.
 */
const UPKEEP_EVERY_MS = 60_000;


export class TenantLimiter extends DurableObject<Env> {
  /** Replaced by tests through runInDurableObject to drive time. */
  clock: Clock = systemClock;
  private readonly sql: SqlStorage;
  /** Transactions through here: one that fails reloads memory from storage (atomic.ts). */
  private readonly storage: LimiterStorage;
  /** Failed transactions since the object started (`stats`). */
  private reloads = 0;
  /** The alarm time last set by this instance; undefined when unknown (after start or an alarm). */
  private nextAlarm: number | null | undefined = undefined;
  /** Usage events to D1, and the KV summary (flusher.ts). */
  private readonly flusher: UsageFlusher;
  /** The tenant, its keys, and the grants and partners naming it, in memory (principals.ts). */
  private principals!: Principals;
  /** Refusals before admission, counted in memory until written (refusals.ts). */
  private readonly refusals: EarlyRefusals;
  /** Buckets, quota counters, in-flight counts and Retry-After, in memory (counters.ts). */
  private counters!: AdmissionCounters;
  /** Leases of permits held by isolates (lease-book.ts). */
  private leases!: LeaseBook;
  /** Held admissions, their settlement and refunds (admissions.ts). */
  private admissions!: AdmissionBook;
  /** Governance events waiting for the webhook hub (alerts.ts). */
  private alerts!: AlertBook;
  /** Surface terms by catalog version and surface (see termsOf). */
  private terms = new Map<string, SurfaceTerms>();
  /** When the alarm next purges and looks at the far deadlines, and the earliest of those (see UPKEEP_EVERY_MS). */
  private upkeepDueAt = 0;
  private farAt: number | null = null;
  /** Calls since this instance started (`stats`): what the request path costs the object. */
  private calls: LimiterStats["calls"] = { admit: 0, admitBatch: 0, settle: 0, refund: 0, reportLease: 0, refuse: 0, quote: 0, report: 0 };
  /** Admissions that came in batches (`admitBatch`), for `stats`. */
  private batchedAdmissions = 0;
  private readonly startedAt = Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.storage = guardedStorage(ctx.storage, () => this.reload());
    this.refusals = new EarlyRefusals(this.storage);
    this.flusher = new UsageFlusher(this.storage, env, () => this.principals.tenant?.id ?? null, () => this.refusals.persist(), () => this.clock.now());
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage);
      this.load();
    });
  }

  /** The object's memory, from SQLite: at start, and after a transaction that failed (atomic.ts). */
  private load(): void {
    this.flusher.load();
    this.principals = new Principals(this.sql);
    const granted = this.leases?.granted ?? 0;
    this.counters = new AdmissionCounters(this.sql);
    this.leases = new LeaseBook(this.storage, this.counters);
    this.leases.granted = granted;
    this.admissions = new AdmissionBook(this.storage, this.counters);
    this.alerts = new AlertBook(this.storage, () => (this.tenant && !this.tenant.deleted ? this.tenant.id : null));
  }

  private get tenant(): TenantState | null {
    return this.principals.tenant;
  }

  /** After a failed transaction; if even reading storage fails, the object starts over from it. */
  private reload(): void {
    this.reloads++;
    try {
      this.load();
    } catch (error) {
      this.ctx.abort(`storage failed: ${String(error)}`);
    }
  }

  // ---- tenant state, pushed by the admin API -------------------------------------------------

  /** A deleted tenant stays deleted, and an older revision never replaces a newer one (principals.ts). */
  putTenant(state: TenantState, ifNotAfter?: number): TenantWrite {
    return this.principals.putTenant(state, ifNotAfter);
  }

  /** A grant naming this tenant as customer; an older revision never replaces a newer one, and a revocation is final. */
  putGrant(grant: GrantState): boolean {
    return this.principals.putGrant(grant);
  }

  /** A partner a grant names (its plan, status and keys); an older push never replaces a newer one. */
  putPartner(partner: PartnerState): boolean {
    return this.principals.putPartner(partner);
  }

  /** The grants this limiter holds (for operators and tests). */
  heldGrants(): GrantState[] {
    return [...this.principals.grants.values()];
  }

  getTenant(): TenantState | null {
    return this.tenant;
  }

  /** False when the tenant is unknown or deleted: no key is added to it. */
  putKey(keyId: string, expiresAt: number | null): boolean {
    return this.principals.putKey(keyId, expiresAt);
  }

  revokeKey(keyId: string): void {
    this.principals.revokeKey(keyId, this.clock.now());
  }

  // ---- the request path -------------------------------------------------------------------------

  /**
   * Admission of one request (CONTRACT §3.3): key and tenant status, idempotency, rule,
   * concurrency, rate, quota. Everything before the final await is synchronous, so it is atomic.
   */
  async admit(req: AdmitRequest): Promise<AdmitResult> {
    this.calls.admit++;
    return this.admitOne(req);
  }

  /**
   * Admissions of requests that waited, in one isolate, while another admission for this tenant
   * was on its way (gateway/admission-line.ts): one call, each judged in turn exactly as `admit`
   * judges it, and all of them written in the call's one commit. An admission that throws answers
   * `failed` without stopping the others.
   */
  async admitBatch(reqs: AdmitRequest[]): Promise<BatchedAdmission[]> {
    this.calls.admitBatch++;
    this.batchedAdmissions += reqs.length;
    const results: BatchedAdmission[] = [];
    for (const req of reqs) {
      try {
        results.push(await this.admitOne(req));
      } catch (error) {
        results.push({ kind: "failed", message: String(error) });
      }
    }
    return results;
  }

  private async admitOne(req: AdmitRequest): Promise<AdmitResult> {
    const now = this.clock.now();
    const terms = this.termsOf(req);
    if (!terms) return { kind: "terms-needed" };
    const caller: Caller = { keyId: req.keyId, ...(req.actor !== undefined && { actor: req.actor }), surface: req.surface, terms };
    // CONTRACT §7: a partner's call on behalf of this tenant is checked against the grants and
    // partners held here; the tenant's own call against its key and status (evaluate.ts).
    const auth = authorize(this.principals, caller, now);
    if (!auth.ok) {
      const refused: Refusal = { kind: "refused", code: auth.code, detail: auth.detail, ...(auth.payer !== undefined && { payer: auth.payer }) };
      if (!auth.recordAs) return refused;
      recordEvent(this.sql, { at: now, requestId: req.requestId, surface: req.surface, status: problemStatus[auth.code], outcome: "rejected", reason: auth.code, catalogVersion: req.catalogVersion, attribution: auth.recordAs });
      return this.afterEvent(refused);
    }
    const { delegation, attribution, policy } = auth;
    if (!delegation) for (const report of req.lease?.reports ?? []) this.leases.applyReport(report, now);
    const payer = attribution ? { payer: attribution.payer } : {};
    const signals = (req.unsafe ? 1 : 0) | (req.idempotencyKey ? 2 : 0) | (req.conditional ? 4 : 0);

    const state = this.counters.surfaceState(req.surface);
    const judged = judge(auth, state, { surface: req.surface, terms, units: req.units, ...(req.idempotency && { idempotency: req.idempotency }) }, (key) => this.idempotencyRow(key), now);
    // Issue 12: a call to a deprecated surface tells the webhook hub, once per surface and day
    // (any call the surface's own rule lets through to the checks that follow).
    if (req.deprecated && !(judged.kind === "refused" && judged.stage === "own")) this.alerts.noteSunsetCall(req.surface, attribution?.actor ?? null, now);
    if (judged.kind === "refused") {
      const { kind: _, stage: __, ...r } = judged;
      const early = problemStatus[r.code] === 429 ? this.counters.noteRetryAfter(req.surface, now, r.retryAfter ?? 0) : false;
      recordEvent(this.sql, { at: now, requestId: req.requestId, surface: req.surface, status: problemStatus[r.code], outcome: "rejected", reason: r.code, earlyRetry: early, catalogVersion: req.catalogVersion, attribution, signals });
      return this.afterEvent({ kind: "refused", ...r, ...payer, earlyRetry: early, policy, limits: this.counters.limitsOf(policy, now) });
    }
    if (judged.kind === "replay") {
      recordEvent(this.sql, { at: now, requestId: req.requestId, surface: req.surface, status: judged.response.status, outcome: "replayed", catalogVersion: req.catalogVersion, attribution, signals });
      return this.afterEvent({ kind: "replay", response: judged.response, policy, ...payer });
    }
    const { decision, shadow, idempotency } = judged;
    const { bucket, periodStart, position } = decision;
    const shadowed = shadow.length > 0 ? { shadow } : {};
    const pattern = { idempotencyKey: req.idempotencyKey, notModified: false };
    const common = { kind: "admitted" as const, requestId: req.requestId, periodStart, position, ...(attribution && { attribution }), ...shadowed };

    // CONTRACT §6: request-known units whose price the answer cannot change are charged in the
    // admission itself — no settle follows unless the origin fails.
    const held = req.units === null || policy.concurrency !== undefined || idempotency !== undefined || (req.conditional && policy.incentives.conditional !== undefined);
    if (!held) {
      const charge = chargeFor(policy, req.units!, position, pattern);
      let lease: LeaseGrant | undefined;
      this.storage.transactionSync(() => {
        if (bucket) this.counters.saveBucket(req.surface, bucket);
        if (periodStart !== null) this.counters.addToQuota(req.surface, periodStart, charge.units, 0);
        recordEvent(this.sql, { at: now, requestId: req.requestId, surface: req.surface, status: 0, outcome: "charged", units: charge.units, cost: charge.cost, savings: charge.savings, incentives: charge.incentives, catalogVersion: req.catalogVersion, attribution, signals, shadow });
        if (req.lease && !delegation && shadow.length === 0) lease = this.leases.grant(policy, periodStart, req.units!, req.catalogVersion, now);
      });
      const limits = this.counters.limitsOf(policy, now);
      if (lease) {
        lease.limits = limits;
        await this.ensureAlarm(lease.expiresAt + REPORT_GRACE_MS);
      }
      return this.afterEvent({ ...common, mode: "charged", policy: { surface: policy.surface, meter: policy.meter }, charge, limits, ...(lease && { lease }) });
    }

    // What an admission never settled is charged (CONTRACT §6): its request-known units, priced now.
    const provisional = req.units === null ? null : chargeFor(policy, req.units, position, pattern);
    const { admissionId, firstRecord } = this.admissions.open(
      { surface: req.surface, requestId: req.requestId, units: req.units, leaseMs: req.leaseMs, catalogVersion: req.catalogVersion, decision, policy, provisional, shadow, idempotency, attribution, signals },
      now,
    );
    const result: AdmitResult = { ...common, mode: "held", policy, admissionId, provisional, limits: this.counters.limitsOf(policy, now) };
    await this.ensureAlarm(now + req.leaseMs);
    if (firstRecord) await this.ensureAlarm(now + IDEMPOTENCY_TTL_MS);
    return result;
  }

  /**
   * What admission would answer now, and what a request-counted charge would be, with no side
   * effects: the same evaluation and pricing as a real request (CONTRACT §5 quote).
   */
  quote(req: QuoteRequest): QuoteResult {
    this.calls.quote++;
    const now = this.clock.now();
    const auth = authorize(this.principals, { keyId: req.keyId, ...(req.actor !== undefined && { actor: req.actor }), surface: req.surface, terms: req.terms }, now);
    if (!auth.ok) return { kind: "refused", code: auth.code, detail: auth.detail, ...(auth.payer !== undefined && { payer: auth.payer }) };
    const { policy } = auth;
    const payer = { payer: auth.attribution?.payer ?? auth.tenant.id };
    const judged = judge(auth, this.counters.surfaceState(req.surface), req, (key) => this.idempotencyRow(key), now);
    if (judged.kind === "replay") return { kind: "replay", policy, ...payer };
    if (judged.kind === "refused") {
      const { kind: _, stage, ...refusal } = judged;
      return { kind: "refused", ...refusal, ...payer, policy, ...(stage === "limits" && { limits: this.counters.limitsOf(policy, now) }) };
    }
    const charge = req.units === null ? null : chargeFor(policy, req.units, judged.decision.position, req.signals);
    return { kind: "allowed", policy, charge, ...payer, ...(judged.shadow.length > 0 && { shadow: judged.shadow }) };
  }

  /** The strong key and tenant check alone, read-only (used where nothing else is asked). */
  checkKey(keyId: string): { code: RefusalCode; detail: string } | null {
    return this.principals.check(keyId, this.clock.now());
  }

  /**
   * A request refused before admission (no surface matched, invalid body): the key is checked
   * first, so a revoked key is told so whatever it asked. Such refusals cost no durable write
   * each: they are counted in memory and written together at most every REFUSAL_PERSIST_MS, and
   * a flood of them beyond REFUSAL_RATE is refused `rate-limited` (counted the same way).
   */
  async refuse(req: PreAdmissionRefusal): Promise<{ code: RefusalCode; detail: string; retryAfter?: number } | null> {
    this.calls.refuse++;
    const now = this.clock.now();
    const denied = this.principals.check(req.keyId, now);
    if (denied) return denied;
    const answer = this.refusals.count(req, now);
    await this.ensureAlarm(now + REFUSAL_PERSIST_MS);
    return answer;
  }

  /**
   * Outcomes reported after the fact (CONTRACT §11): each report's units priced with the tenant's
   * plan now and the originating request's incentives (the payer's plan for a partner-paid call),
   * counted in the quota period of its time and never refused — units past the quota are charged
   * the overage price, and with `overage: block` the next requests are refused. Idempotent by
   * the reporter's id for LATE_USAGE_DAYS. One transaction for the batch (reports.ts).
   */
  async report(req: ReportRequest): Promise<ReportResult> {
    this.calls.report++;
    // Backpressure: a reporter faster than the flush to D1 waits for it, so a flood of reports
    // never leaves a backlog that the next minutes' flushes (and every tenant beside) pay for.
    if (unflushedEvents(this.sql) >= REPORT_BACKLOG_EVENTS) await this.flush({ summary: "when-due" });
    const tenant = this.tenant;
    if (!tenant || tenant.deleted) return { accepted: [], duplicates: [] };
    const ledger = { sql: this.sql, counters: this.counters, tenant, grants: this.principals.grants, partners: this.principals.partners };
    const result = this.storage.transactionSync(() => acceptReports(ledger, req, this.clock.now()));
    if (result.accepted.length > 0) await this.afterEvent(undefined);
    return result;
  }

  /**
   * Settles a held admission once its answer has ended (CONTRACT §6; admissions.ts). Idempotent.
   */
  async settle(req: SettleRequest): Promise<Settlement> {
    this.calls.settle++;
    return this.afterEvent(this.admissions.settle(req, this.clock.now()));
  }

  /** Takes back the charge of an admission charged at admission whose origin failed (admissions.ts). Idempotent. */
  async refund(req: RefundRequest): Promise<boolean> {
    this.calls.refund++;
    return this.afterEvent(this.admissions.refund(req, this.clock.now()));
  }

  /** Lease reports that did not travel with a lease request (their holder asked for no new one). */
  async reportLeases(reports: LeaseReport[]): Promise<void> {
    this.calls.reportLease++;
    const now = this.clock.now();
    for (const report of reports) this.leases.applyReport(report, now);
    await this.afterEvent(undefined);
  }

  /**
   * Settles expired admissions, writes pending refusals, flushes usage to the D1 rollups, purges
   * expired idempotency records and old flushed events — never on the request path. A failed D1
   * write throws, and the runtime retries the alarm.
   */
  override async alarm(): Promise<void> {
    this.nextAlarm = undefined;
    const now = this.clock.now();
    this.admissions.expire(now);
    this.leases.expire(now);
    this.refusals.persist();
    await this.flush({ summary: "when-due" });
    this.alerts.checkQuotas(this.currentPolicies(), (surface, periodStart) => this.counters.quotaCounter(surface, periodStart), now);
    const outboxRetry = await this.handOverEvents();
    const next = (q: string, ...args: SqlStorageValue[]) => this.sql.exec<{ at: number | null }>(q, ...args).one().at;
    const after = (ms: number) => (at: number | null) => (at === null ? null : at + ms);
    // What is due within seconds or minutes, looked at on every alarm.
    const near = [
      next("SELECT MIN(expires_at) AS at FROM admissions WHERE state != 'expired'"),
      after(REPORT_GRACE_MS)(next("SELECT MIN(expires_at) AS at FROM leases WHERE state = 'open'")),
      unflushedEvents(this.sql) > 0 ? now + FLUSH_DELAY_MS : null,
      this.refusals.due(now),
      outboxRetry ? now + OUTBOX_RETRY_MS : null,
      this.flusher.summaryDue(),
    ].filter((at): at is number => at !== null);
    // The purges, and what is due hours or days away: at most every UPKEEP_EVERY_MS while alarms
    // come, and always before the object goes idle (nothing near), so nothing is left unscheduled.
    if (now >= this.upkeepDueAt || near.length === 0 || (this.farAt !== null && this.farAt <= now)) {
      this.alerts.purge(now);
      this.sql.exec("DELETE FROM reports_seen WHERE at < ?", now - LATE_USAGE_MS);
      this.sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
      this.sql.exec("DELETE FROM refunds WHERE at <= ?", now - REFUND_MEMORY_MS);
      this.sql.exec("DELETE FROM usage_history WHERE hour < ?", now - EVENT_RETENTION_MS);
      const far = [
        next("SELECT MIN(expires_at) AS at FROM idempotency"),
        after(REFUND_MEMORY_MS)(next("SELECT MIN(at) AS at FROM refunds")),
        after(UNREPORTED_KEPT_MS)(next("SELECT MIN(expires_at) AS at FROM leases WHERE state != 'open'")),
        after(LATE_SETTLE_MS)(next("SELECT MIN(expires_at) AS at FROM admissions WHERE state = 'expired'")),
        after(EVENT_RETENTION_MS + HOUR_MS)(next("SELECT MIN(hour) AS at FROM usage_history")),
      ].filter((at): at is number => at !== null);
      this.farAt = far.length > 0 ? Math.min(...far) : null;
      this.upkeepDueAt = now + UPKEEP_EVERY_MS;
    }
    const candidates = this.farAt === null ? near : [...near, this.farAt];
    if (candidates.length > 0) await this.ensureAlarm(Math.max(now + 1, Math.min(...candidates)));
  }

  /**
   * Moves every unflushed usage event into the D1 rollups (exactly once, see metering/flush.ts)
   * and refreshes the tenant's current-period summary in KV (flusher.ts). Usage reads call this
   * first, so they include every request answered before them (and the summary is rewritten for
   * them); the alarm's own flushes rewrite it at most every SUMMARY_EVERY_MS.
   */
  async flush(options: { summary: SummaryWhen } = { summary: "always" }): Promise<{ flushed: number }> {
    return this.flusher.flush(options.summary);
  }

  // ---- operators' views -------------------------------------------------------------------------

  limits(terms: Record<string, SurfaceTerms>): Record<string, SurfaceLimits> {
    const now = this.clock.now();
    const tenant = this.tenant;
    if (!tenant) return {};
    return Object.fromEntries(
      Object.entries(terms).map(([surface, t]) => [surface, this.counters.limitsOf(effectivePolicy(tenant, surface, t), now)]),
    );
  }

  stats(): LimiterStats {
    const tables = ["admissions", "usage_events", "usage_history", "idempotency", "leases", "refunds", "quotas", "buckets", "keys"];
    const rows = Object.fromEntries(tables.map((t) => [t, this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n]));
    return { since: new Date(this.startedAt).toISOString(), calls: { ...this.calls }, batchedAdmissions: this.batchedAdmissions, leasesGranted: this.leases.granted, failedTransactions: this.reloads, storage: { bytes: this.sql.databaseSize, rows } };
  }

  reset(surface: string | null, what: "rate" | "quota" | "all"): void {
    this.counters.reset(surface, what, (write) => this.storage.transactionSync(write));
  }

  // ---- internals ----------------------------------------------------------------------------------

  /**
   * The surface's terms for the request's catalog version: as sent, or as kept from an earlier
   * request (each isolate sends them once per version and surface, so the hot path need not
   * serialise them on every call).
   */
  private termsOf(req: AdmitRequest): SurfaceTerms | undefined {
    const id = `${req.catalogVersion}\u0000${req.surface}`;
    if (req.terms) {
      if (this.terms.size >= 1000) this.terms.clear();
      this.terms.set(id, req.terms);
      return req.terms;
    }
    return this.terms.get(id);
  }

  private idempotencyRow(key: string): IdempotencyRow | undefined {
    return this.sql.exec<IdempotencyRow>("SELECT * FROM idempotency WHERE key = ?", key).toArray()[0];
  }

  /** The policy of every surface this limiter has terms for (the newest catalog version it saw), for the quota alerts. */
  private currentPolicies(): EffectivePolicy[] {
    const tenant = this.tenant;
    if (!tenant || tenant.deleted) return [];
    const newest = new Map<string, { version: number; terms: SurfaceTerms }>();
    for (const [id, terms] of this.terms) {
      const [version, surface] = id.split("\u0000") as [string, string];
      const seen = newest.get(surface);
      if (!seen || Number(version) > seen.version) newest.set(surface, { version: Number(version), terms });
    }
    return [...newest.entries()].map(([surface, { terms }]) => effectivePolicy(tenant, surface, terms));
  }

  /** Hands queued governance events to the webhook hub (idempotent by id); true when some are left for a retry. */
  private async handOverEvents(): Promise<boolean> {
    for (;;) {
      const pending = this.alerts.pending();
      if (pending.length === 0) return false;
      try {
        await emitEvents(this.env, pending);
      } catch (error) {
        console.error("webhook hub unavailable; events stay in the outbox", error);
        return true;
      }
      this.alerts.handedOver(pending.map((e) => e.id));
    }
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
}
