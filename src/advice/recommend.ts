// Advice (CONTRACT §8, issue 12): what a tenant could change in how it integrates, from its own
// retained per-request rows (and rollups for early retries), priced with its current plan by the
// same chargeFor the gateway charges with. Pure: rows, rollup counts, catalog and tenant are arguments.
import type { Catalog } from "../catalog/schema";
import { effectivePolicy, surfaceTerms, type EffectivePolicy, type TenantTerms } from "../limiter/policy";
import { chargeFor } from "../pricing/charge";
import type { PatternSignals } from "../pricing/incentives";
import { formatMoney } from "../pricing/money";
import { SIGNAL_CONDITIONAL, SIGNAL_IDEMPOTENCY_KEY, SIGNAL_UNSAFE, signalsOf, type RequestRow } from "../simulation/simulate";

export const RECOMMENDATION_CODES = ["use-batching", "use-idempotency-keys", "honor-retry-after", "use-conditional-requests", "stop-calling-deprecated"] as const;
export type RecommendationCode = (typeof RECOMMENDATION_CODES)[number];

export interface Recommendation {
  code: RecommendationCode;
  surface: string;
  evidence: Record<string, unknown>;
  /** Exact money the change would have saved over the evidence, or null when it cannot be known from the rows. */
  savings: string | null;
}

export interface AdviceInput {
  catalog: Catalog;
  tenant: TenantTerms;
  /** The tenant's own calls (actor = the tenant) in the window. */
  rows: readonly RequestRow[];
  /** Early retries by surface over the same window (rollups: refusals before admission are there, not in rows). */
  earlyRetries: Readonly<Record<string, number>>;
  now: number;
}

const charged = (r: RequestRow) => r.outcome === "charged" || r.outcome === "unsettled";

/**
 * The cost of each call under the plan as it is now, and with a change: both via chargeFor at
 * quota position 0 (the unit price; overage is not modelled), so `savings` is the incentive's effect alone.
 */
function savingsOf(calls: readonly RequestRow[], policy: EffectivePolicy, changed: EffectivePolicy, signals: (s: PatternSignals) => PatternSignals): bigint {
  let sum = 0n;
  for (const r of calls) {
    const s = signalsOf(r);
    sum += BigInt(chargeFor(policy, r.units, 0, s).cost - chargeFor(changed, r.units, 0, signals(s)).cost);
  }
  return sum;
}

export function recommend(input: AdviceInput): Recommendation[] {
  const { catalog, tenant, rows, now } = input;
  const bySurface = new Map<string, RequestRow[]>();
  for (const r of rows) {
    let list = bySurface.get(r.surface);
    if (!list) bySurface.set(r.surface, (list = []));
    list.push(r);
  }
  const out: (Recommendation & { micros: bigint })[] = [];
  const add = (code: RecommendationCode, surface: string, evidence: Record<string, unknown>, micros: bigint | null) =>
    out.push({ code, surface, evidence, savings: micros === null ? null : formatMoney(micros), micros: micros ?? -1n }); // unknown savings sort after every known one

  for (const surface of [...new Set([...bySurface.keys(), ...Object.keys(input.earlyRetries)])].sort()) {
    const calls = bySurface.get(surface) ?? [];
    const entry = catalog.surfaces[surface];
    const policy = entry ? effectivePolicy(tenant, surface, surfaceTerms(catalog, surface)) : null;
    const incentives = policy?.incentives ?? {};

    // Charged calls with fewer units than the plan's batch minimum, on a surface whose units the caller batches.
    const batch = incentives.batch;
    if (policy && batch && entry?.meter.count.from === "json-array") {
      const small = calls.filter((r) => charged(r) && r.units > 0 && r.units < batch.minUnits);
      const batched: EffectivePolicy = { ...policy, incentives: { ...incentives, batch: { minUnits: 1, multiplier: batch.multiplier } } };
      const micros = savingsOf(small, policy, batched, (s) => s);
      if (small.length > 0 && micros > 0n) {
        add("use-batching", surface, { calls: small.length, units: small.reduce((n, r) => n + r.units, 0), minUnits: batch.minUnits, multiplier: batch.multiplier }, micros);
      }
    }

    // Unsafe calls without an Idempotency-Key, on a plan that rewards one.
    const keyed = incentives["idempotency-key"];
    if (policy && keyed !== undefined) {
      const unkeyed = calls.filter((r) => charged(r) && (r.signals & SIGNAL_UNSAFE) !== 0 && (r.signals & SIGNAL_IDEMPOTENCY_KEY) === 0);
      const micros = savingsOf(unkeyed, policy, policy, (s) => ({ ...s, idempotencyKey: true }));
      if (unkeyed.length > 0 && micros > 0n) {
        add("use-idempotency-keys", surface, { calls: unkeyed.length, unsafeCalls: calls.filter((r) => (r.signals & SIGNAL_UNSAFE) !== 0).length, multiplier: keyed }, micros);
      }
    }

    // Retries that came before the Retry-After they were given: nothing to save, refusals to avoid.
    const early = input.earlyRetries[surface] ?? 0;
    if (early > 0) add("honor-retry-after", surface, { earlyRetries: early }, 0n);

    // Safe calls that were not conditional, on a plan that rewards a 304: which would have been
    // answered 304 the rows cannot tell, so the savings are unknown (null).
    const conditional = incentives.conditional;
    if (policy?.price && policy.rule !== "included" && conditional !== undefined && conditional < 1) {
      const safe = calls.filter((r) => (r.signals & SIGNAL_UNSAFE) === 0 && r.outcome !== "rejected");
      const unconditional = safe.filter((r) => (r.signals & SIGNAL_CONDITIONAL) === 0);
      if (unconditional.length > 0) {
        add("use-conditional-requests", surface, { calls: unconditional.length, conditionalCalls: safe.length - unconditional.length, notModified: safe.filter((r) => signalsOf(r).notModified).length, multiplier: conditional }, null);
      }
    }

    // Calls to a surface deprecated by now.
    if (entry?.deprecatedAt !== undefined && Date.parse(entry.deprecatedAt) <= now && calls.length > 0) {
      add("stop-calling-deprecated", surface, { calls: calls.length, lastCall: new Date(Math.max(...calls.map((r) => r.at))).toISOString(), deprecatedAt: entry.deprecatedAt, sunsetAt: entry.sunsetAt ?? null, link: entry.link ?? null }, 0n);
    }
  }

  const order = (code: RecommendationCode) => RECOMMENDATION_CODES.indexOf(code);
  out.sort((a, b) => (a.micros !== b.micros ? (b.micros > a.micros ? 1 : -1) : order(a.code) - order(b.code) || (a.surface < b.surface ? -1 : a.surface > b.surface ? 1 : 0)));
  return out.map(({ micros: _, ...r }) => r);
}
