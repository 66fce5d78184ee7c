// Catalog simulation (CONTRACT §8, issue 12): the retained per-request rows re-priced under a
// candidate catalog with the gateway's own pure pricing code — surfaceTerms, effectivePolicy,
// delegate, decide (rule, rate bucket, quota period) and chargeFor — replayed in the limiter's
// order per tenant × surface, so that the current catalog simulated against itself answers what
// was recorded. Pure: the rows, the tenants and the catalog are arguments; nothing is changed.
import type { Catalog } from "../catalog/schema";
import { decide, LIMIT_CODES, limitRefusals, type QuotaCounter } from "../limiter/decide";
import { delegate, ownCallRefusal } from "../limiter/delegation";
import { effectivePolicy, surfaceTerms, type EffectivePolicy, type TenantTerms } from "../limiter/policy";
import type { GrantState, PartnerState, TenantState } from "../limiter/protocol";
import type { BucketState } from "../limiter/token-bucket";
import { chargeFor } from "../pricing/charge";
import type { PatternSignals } from "../pricing/incentives";
import { formatMoney } from "../pricing/money";

/** One `usage_requests` row, as the simulation and advice read it. */
export interface RequestRow {
  tenant: string;
  requestId: string;
  at: number;
  surface: string;
  actor: string;
  payer: string;
  outcome: "charged" | "unsettled" | "rejected" | "failed" | "replayed" | string;
  status: number;
  reason: string | null;
  units: number;
  cost: number; // micro-units
  incentives: string[];
  signals: number; // 1 unsafe, 2 Idempotency-Key incentive, 4 conditional request
}

export const SIGNAL_UNSAFE = 1;
export const SIGNAL_IDEMPOTENCY_KEY = 2;
export const SIGNAL_CONDITIONAL = 4;

/** What the incentives see of a recorded request: a valid key on an unsafe request; a conditional request answered 304. */
export function signalsOf(row: Pick<RequestRow, "signals" | "incentives" | "status">): PatternSignals {
  return {
    idempotencyKey: (row.signals & SIGNAL_IDEMPOTENCY_KEY) !== 0,
    notModified: row.incentives.includes("conditional") || row.status === 304,
  };
}

export interface SimTenant extends TenantTerms {
  id: string;
}

export interface SimulationInput {
  candidate: Catalog;
  /** Every retained row of the simulated tenants up to `to`, in the order their limiter recorded them. */
  rows: readonly RequestRow[];
  /** Tenants' terms as they are now, by id (partners that pay for delegated calls included). */
  tenants: ReadonlyMap<string, SimTenant>;
  /** The window reported: rows at or after `from` and before `to` (earlier rows only move buckets and quotas). */
  from: number;
  to: number;
  /**
   * Units already used in a quota period before the first replayed row of a tenant × surface in
   * it (usage older than the retained rows); default 0.
   */
  quotaSeed?: (tenant: string, surface: string, periodStart: number, before: number) => number;
}

export interface Side {
  cost: string;
  refusals: number;
}

export interface SimulationItem {
  tenant: string;
  surface: string;
  current: Side;
  candidate: Side;
  delta: string;
}

export interface SimulationResult {
  items: SimulationItem[];
  totals: { current: string; candidate: string; delta: string };
  notes: string[];
}

/** Refusals the catalog plays no part in, decided before admission: a candidate refuses them too, and they took no token. */
const CATALOG_FREE_REFUSALS = new Set(["idempotency-key-in-use", "idempotency-key-reused", "grant-required", "key-revoked", "unauthenticated", "tenant-suspended"]);
/** Refusals the catalog decides (the candidate decides them anew). */
const CATALOG_REFUSALS = new Set(["surface-prohibited", "premium-required", "concurrency-limited", "rate-limited", "quota-exhausted", "delegation-required", "delegation-forbidden", "surface-sunset", "no-surface"]);

interface Totals {
  currentCost: number;
  currentRefusals: number;
  candidateCost: number;
  candidateRefusals: number;
}

interface SurfaceReplay {
  bucket: BucketState | null;
  quota: Map<number, number>; // period start → units used
}

const SIM_KEY = "simulation";

/** The customer and the paying partner of a delegated call as the customer's limiter would hold them. */
function delegationOf(customer: SimTenant, partner: SimTenant, row: RequestRow, catalog: Catalog) {
  const customerState: TenantState = { ...customer, status: "active", deleted: false, revision: 0 };
  const partnerState: PartnerState = { ...partner, status: "active", deleted: false, keys: { [SIM_KEY]: { expiresAt: null, revokedAt: null } }, seq: 0 };
  const grant: GrantState = { id: SIM_KEY, partner: partner.id, surfaces: "*", payer: row.payer === partner.id ? "partner" : "customer", sharePpm: 0, status: "active", expiresAt: null, revision: 0 };
  return delegate(customerState, partnerState, [grant], { actor: partner.id, keyId: SIM_KEY, surface: row.surface, terms: surfaceTerms(catalog, row.surface), now: row.at });
}

export function simulate(input: SimulationInput): SimulationResult {
  const { candidate, tenants, from, to } = input;
  const notes = new Set<string>();
  const totals = new Map<string, Totals>();
  const replays = new Map<string, SurfaceReplay>();
  let unknownUnits = 0;
  const unknownTenants = new Set<string>();

  for (const row of input.rows) {
    if (row.at >= to) continue;
    const id = `${row.tenant}\u0000${row.surface}`;
    let replay = replays.get(id);
    if (!replay) replays.set(id, (replay = { bucket: null, quota: new Map() }));
    const inWindow = row.at >= from;
    let t = totals.get(id);
    if (inWindow && !t) totals.set(id, (t = { currentCost: 0, currentRefusals: 0, candidateCost: 0, candidateRefusals: 0 }));
    const recordedRefusal = row.outcome === "rejected";
    if (t) {
      t.currentCost += row.cost;
      if (recordedRefusal) t.currentRefusals++;
    }

    const result = candidateOutcome(row, replay);
    if (t) {
      t.candidateCost += result.cost;
      if (result.refused) t.candidateRefusals++;
    }
  }

  function candidateOutcome(row: RequestRow, replay: SurfaceReplay): { cost: number; refused: boolean } {
    // An idempotent replay was answered before any limit was asked (and costs nothing).
    if (row.outcome === "replayed") return { cost: 0, refused: false };
    if (row.outcome === "rejected" && row.reason !== null && CATALOG_FREE_REFUSALS.has(row.reason)) return { cost: 0, refused: true };
    const tenant = tenants.get(row.tenant);
    if (!tenant) {
      if (!unknownTenants.has(row.tenant)) notes.add(`Tenant "${row.tenant}" is no longer in D1: its requests are counted as recorded.`);
      unknownTenants.add(row.tenant);
      return { cost: row.cost, refused: row.outcome === "rejected" };
    }
    const surface = candidate.surfaces[row.surface];
    // Requests stay on the surface they were classified into; a surface that is gone matches no route.
    if (!surface) {
      notes.add(`Surface "${row.surface}" is not in the candidate: its requests are counted as refused (no-surface); they are not re-classified onto other routes.`);
      return { cost: 0, refused: true };
    }
    if (surface.sunsetAt !== undefined && Date.parse(surface.sunsetAt) <= row.at) return { cost: 0, refused: true };
    const terms = surfaceTerms(candidate, row.surface);
    const limitsPolicy = effectivePolicy(tenant, row.surface, terms);
    let policy: EffectivePolicy = limitsPolicy;
    if (row.actor !== row.tenant) {
      const partner = tenants.get(row.actor);
      if (!partner) {
        notes.add(`Partner "${row.actor}" is no longer in D1: its calls on behalf of "${row.tenant}" are priced with the customer's plan.`);
      } else {
        const d = delegationOf(tenant, partner, row, candidate);
        if (!d.ok) return { cost: 0, refused: true };
        policy = d.pricing(limitsPolicy);
      }
    } else if (ownCallRefusal(terms, row.surface)) return { cost: 0, refused: true };

    // Units as the admission knew them: one per request, the recorded batch size, or null (the response tells).
    const count = terms.meter.count.from;
    const admittedBefore = row.outcome === "charged" || row.outcome === "unsettled";
    const knownUnits = count === "request" ? 1 : count === "json-array" ? (admittedBefore ? row.units : null) : null;
    if (count === "json-array" && !admittedBefore) notes.add(`Refused or failed requests on "${row.surface}" (json-array) have no recorded batch size: their quota check is made as for units the response tells (admitted while any quota remains).`);

    // A period first met here starts from the usage before the retained rows (seed), then moves with the replay.
    const quotaOf = (periodStart: number): QuotaCounter => {
      if (!replay.quota.has(periodStart)) replay.quota.set(periodStart, input.quotaSeed?.(row.tenant, row.surface, periodStart, row.at) ?? 0);
      return { used: replay.quota.get(periodStart)!, reserved: 0 };
    };
    // Concurrency cannot be replayed (requests' durations are not retained): a recorded
    // concurrency refusal stays one while the candidate still limits concurrency; nothing else is refused for it.
    const inFlight = row.reason === "concurrency-limited" ? Number.MAX_SAFE_INTEGER : 0;
    let decision = decide(tenant as TenantState, limitsPolicy, { bucket: replay.bucket, quota: quotaOf, inFlight }, knownUnits, row.at);
    // A shadow rule refuses nothing, and leaves the limits' state as a refusal would (as the limiter does).
    if (!decision.ok && limitsPolicy.enforce === "shadow" && LIMIT_CODES.has(decision.code)) {
      const evaluated = limitRefusals(limitsPolicy, { bucket: replay.bucket, quota: quotaOf, inFlight }, knownUnits, row.at);
      decision = { ok: true, bucket: null, periodStart: null, position: evaluated.position };
    }
    if (!decision.ok) return { cost: 0, refused: true };
    if (decision.bucket) replay.bucket = decision.bucket;

    if (row.outcome === "failed") return { cost: 0, refused: false }; // the origin failed it: no charge, no quota
    if (row.outcome === "rejected" && (row.reason === null || !CATALOG_REFUSALS.has(row.reason))) return { cost: 0, refused: true }; // refused after admission (e.g. payload-too-large)

    let units: number;
    if (admittedBefore) units = count === "request" ? 1 : row.units;
    else if (count === "request") units = 1;
    else {
      units = 0;
      unknownUnits++;
    }
    const charge = chargeFor(policy, units, decision.position, signalsOf(row));
    if (decision.periodStart !== null) replay.quota.set(decision.periodStart, (replay.quota.get(decision.periodStart) ?? 0) + charge.units);
    return { cost: charge.cost, refused: false };
  }

  if (unknownUnits > 0) notes.add(`${unknownUnits} request(s) refused when recorded would be admitted by the candidate on a surface whose units were never measured: counted as admitted with 0 units.`);
  const leased = Object.entries(candidate.plans).flatMap(([plan, p]) => Object.entries(p.surfaces).filter(([, s]) => s.admission === "leased").map(([s]) => `${plan}/${s}`));
  if (leased.length > 0) notes.add(`Requests served from leases (${leased.join(", ")}) have no per-request rows: they are not in the simulation.`);

  const items: SimulationItem[] = [];
  let current = 0;
  let cand = 0;
  for (const [id, t] of [...totals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [tenant, surface] = id.split("\u0000") as [string, string];
    current += t.currentCost;
    cand += t.candidateCost;
    items.push({
      tenant,
      surface,
      current: { cost: formatMoney(t.currentCost), refusals: t.currentRefusals },
      candidate: { cost: formatMoney(t.candidateCost), refusals: t.candidateRefusals },
      delta: formatMoney(t.candidateCost - t.currentCost),
    });
  }
  return { items, totals: { current: formatMoney(current), candidate: formatMoney(cand), delta: formatMoney(cand - current) }, notes: [...notes] };
}
