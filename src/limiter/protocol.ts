// What the Worker and the tenant's limiter say to each other over RPC (CONTRACT §3.3, §6).
import type { Charge } from "../pricing/charge";
import type { PatternSignals } from "../pricing/incentives";
import type { IdempotencyClaim, StoredResponse } from "./idempotency";
import type { EffectivePolicy, SurfaceTerms, TenantTerms } from "./policy";

export interface TenantState extends TenantTerms {
  id: string;
  status: "active" | "suspended";
  deleted: boolean;
  /** D1's revision of the tenant row: the limiter never goes back to an older one. */
  revision: number;
}

/** A grant as the customer's limiter holds it (CONTRACT §7): checked on every delegated call. */
export interface GrantState {
  id: string;
  partner: string;
  surfaces: string[] | "*";
  payer: "customer" | "partner";
  /** The partner's revenue share in parts per million (only with payer customer). */
  sharePpm: number;
  status: "pending" | "active" | "rejected" | "revoked";
  /** ms since the epoch, or null. */
  expiresAt: number | null;
  /** D1's revision of the grant row: the limiter never goes back to an older one. */
  revision: number;
}

/**
 * What a customer's limiter knows of a partner that a grant names: enough to check the partner's
 * key and status and to price with its plan, with no call to the partner's own limiter.
 */
export interface PartnerState extends TenantTerms {
  id: string;
  status: "active" | "suspended";
  deleted: boolean;
  keys: Record<string, { expiresAt: number | null; revokedAt: number | null }>;
  /** D1's numbering of these pushes (tenants.mirror_seq): the limiter never goes back to an older one. */
  seq: number;
}

/** Who made a delegated call, who pays for it, and the actor's share of what the customer pays. */
export interface Attribution {
  actor: string;
  payer: string;
  sharePpm: number;
}

/** What putTenant did: a deleted tenant is final, an older revision changes nothing. */
export interface TenantWrite {
  applied: boolean;
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
  | "idempotency-key-reused"
  | "grant-required"
  | "delegation-required"
  | "delegation-forbidden";

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
  /**
   * The surface's terms in the catalog version. Sent once per (limiter, version, surface) by each
   * isolate: the limiter keeps them, and answers `terms-needed` when it has lost them.
   */
  terms?: SurfaceTerms;
  /** Units when known before forwarding (request count, json-array); null when only the response tells. */
  units: number | null;
  /** The request carried a valid Idempotency-Key on an unsafe method (an incentive known at admission). */
  idempotencyKey: boolean;
  /** The request is conditional (If-None-Match / If-Modified-Since): its price may depend on a 304. */
  conditional: boolean;
  /** An unsafe method (POST, PUT, PATCH, DELETE), recorded for advice (issue 12). */
  unsafe?: boolean;
  /** A call to a surface past its deprecatedAt (issue 12: the surface.sunset-call webhook). */
  deprecated?: boolean;
  /** How long the admission holds its slot and reservation if it is never settled (CONTRACT §6). */
  leaseMs: number;
  catalogVersion: number;
  /** For POST/PATCH carrying an Idempotency-Key (CONTRACT §3 Idempotency). */
  idempotency?: IdempotencyClaim;
  /** A delegated call (CONTRACT §7): the partner tenant whose key made it, on behalf of this limiter's tenant. */
  actor?: string;
  /**
   * The isolate would take a lease of permits for the next requests on this surface (if the
   * tenant's policy is `leased`), and reports the leases it used before.
   */
  lease?: { reports?: LeaseReport[] };
}

export interface Refusal {
  kind: "refused";
  code: RefusalCode;
  detail: string;
  /** A delegated call's payer, once its grant is known (CONTRACT §7: `Tollgate-Payer` on refusals too). */
  payer?: string;
  retryAfter?: number;
  violatedPolicies?: string[];
  earlyRetry?: boolean;
  policy?: EffectivePolicy;
  limits?: SurfaceLimits;
}

/**
 * An admitted request, in one of two modes (CONTRACT §6, one blocking call):
 * - `charged`: its units were known and nothing about its answer can change its price, so it was
 *   charged in the admission itself. The Worker tells the limiter again only if the origin fails
 *   (`refund`).
 * - `held`: a concurrency slot, an idempotency record, units measured from the response, or a
 *   conditional discount keep it open until the Worker settles it when the answer has ended
 *   (off the critical path), or the limiter does at the end of its lease.
 */
export type Admitted = ChargedAdmission | HeldAdmission;

interface AdmissionCommon {
  kind: "admitted";
  requestId: string;
  limits: SurfaceLimits;
  /** The quota period the request counts in (null without a quota). */
  periodStart: number | null;
  /** Units used and reserved before it in the period: prices its overage, here and in the limiter alike. */
  position: number;
  /** A delegated call (CONTRACT §7): who made it, who pays, the actor's share. */
  attribution?: Attribution;
  /** Issue 12: the limits a shadow rule would have refused it for (it was admitted anyway). */
  shadow?: string[];
}

export interface ChargedAdmission extends AdmissionCommon {
  mode: "charged";
  /** What the Worker still needs of the policy: its charge is already made (a lean answer, on every request). */
  policy: Pick<EffectivePolicy, "surface" | "meter">;
  charge: Charge;
  /** Permits for the isolate's next requests, when the tenant's policy on the surface is `leased`. */
  lease?: LeaseGrant;
}

export interface HeldAdmission extends AdmissionCommon {
  mode: "held";
  policy: EffectivePolicy;
  admissionId: string;
  /**
   * What the limiter charges if this admission is never settled (CONTRACT §6): request-known
   * units at the price computed at admission; null when the units come from the response.
   */
  provisional: Charge | null;
}

/** A charged admission taken back: the origin failed it. Idempotent by request id. */
export interface RefundRequest {
  requestId: string;
  /** The admission's attribution, for a delegated call. */
  attribution?: Attribution;
  surface: string;
  periodStart: number | null;
  charge: Charge;
  status: number;
  reason: string;
}

export type AdmitResult = Admitted | { kind: "replay"; response: StoredResponse; policy: EffectivePolicy; payer?: string } | Refusal | { kind: "terms-needed" };

/** One answer of `admitBatch`: the admission's own result, or `failed` when judging it threw (nothing of it was written). */
export type BatchedAdmission = AdmitResult | { kind: "failed"; message: string };

export interface QuoteRequest {
  keyId: string;
  /** A quote on behalf of this limiter's tenant, by this partner (CONTRACT §7). */
  actor?: string;
  surface: string;
  terms: SurfaceTerms;
  units: number | null;
  signals: PatternSignals;
  idempotency?: IdempotencyClaim;
}

export type QuoteResult =
  | { kind: "allowed"; policy: EffectivePolicy; charge: Charge | null; payer?: string; /** Under a shadow rule: the limits that would refuse it (issue 12). */ shadow?: RefusalCode[] }
  | { kind: "replay"; policy: EffectivePolicy; payer?: string }
  | Refusal;

export interface SettleRequest {
  admissionId: string;
  status: number;
  /** Units to charge; null when nothing is charged (the origin failed, or Tollgate refused late). */
  units: number | null;
  /** With `units: null`: "failed" (the origin failed: default) or "rejected" (Tollgate refused, e.g. a body over the limit). */
  outcome?: "failed" | "rejected";
  reason?: string;
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

/** A request refused before admission (no surface matched, invalid body), for the record. */
export interface PreAdmissionRefusal {
  keyId: string;
  surface: string | null;
  code: string;
  status: number;
  catalogVersion: number | null;
}

/** Usage of leased requests, aggregated by outcome and incentive set (CONTRACT §6). */
export interface LeaseUsage {
  outcome: "charged" | "failed";
  count: number;
  units: number;
  cost: number; // micro-units
  savings: number; // micro-units
  incentives: string[];
}

/** What an isolate did with a lease: reported with its next lease request, or when it ends. */
export interface LeaseReport {
  leaseId: string;
  /** Permits the isolate used (requests served from the lease). */
  used: number;
  usage: LeaseUsage[];
}

/** Permits pre-debited for one isolate: rate tokens taken, quota units reserved (CONTRACT §6). */
export interface LeaseGrant {
  leaseId: string;
  surface: string;
  permits: number;
  /** Quota units reserved for the permits (0 without a quota, or when units come from the response). */
  units: number;
  periodStart: number | null;
  /** Units used and reserved in the period before the lease: leased requests price overage from here. */
  position: number;
  expiresAt: number;
  policy: EffectivePolicy;
  limits: SurfaceLimits;
}

/** What a tenant's limiter has done since it started, and what it stores (for operators and the benchmark). */
export interface LimiterStats {
  since: string;
  /** RPCs served, by method: `admitBatch` is one call however many admissions it carries. */
  calls: { admit: number; admitBatch: number; settle: number; refund: number; reportLease: number; refuse: number; quote: number; report: number };
  /** Admissions that came in `admitBatch` calls. */
  batchedAdmissions: number;
  leasesGranted: number;
  /** Storage transactions that failed (each rolled back; memory was reloaded from storage). */
  failedTransactions: number;
  storage: { bytes: number; rows: Record<string, number> };
}

/** One accepted outcome report for this limiter's tenant (CONTRACT §11), resolved by the Worker. */
export interface ReportedUnits {
  /** The reporter's id: idempotent for LATE_USAGE_DAYS. */
  id: string;
  surface: string;
  units: number;
  /** ms since the epoch: the quota period and the rollup hour it counts in. */
  time: number;
  /** The originating request, when the report named one. */
  requestId?: string;
  /** Its attribution (a delegated call) and signals: the incentives of the originating request. */
  attribution?: Attribution | null;
  signals?: number;
  catalogVersion: number;
}

export interface ReportRequest {
  /** The terms of every surface the reports name, in the current catalog. */
  terms: Record<string, SurfaceTerms>;
  reports: ReportedUnits[];
}

export interface ReportResult {
  accepted: string[];
  duplicates: string[];
}
