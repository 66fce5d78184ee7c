// The effective policy of one tenant on one surface: the plan's entry with the tenant's
// overrides laid over it. The limiter is handed the plan entries by the caller on each call,
// so a catalog or plan change needs no migration of limiter state.
import type { Incentives, Meter, PlanSurface, Rule } from "../catalog/schema";
import type { Catalog } from "../catalog/schema";

export interface SurfaceOverride {
  rate?: PlanSurface["rate"];
  quota?: PlanSurface["quota"];
  price?: PlanSurface["price"];
  concurrency?: number;
}

export interface TenantTerms {
  plan: string;
  addons: string[];
  overrides: Record<string, SurfaceOverride>;
}

export interface SurfaceTerms {
  meter: Meter;
  /** CONTRACT §7: "allowed" (default), "required" or "forbidden". */
  delegation?: "allowed" | "required" | "forbidden";
  /** Some plan admits this surface `leased` (CONTRACT §6): the Worker may serve it from a lease. */
  leasable?: boolean;
  /** The surface's entry in every plan of the catalog (absent = not in that plan). */
  plans: Record<string, { entry?: PlanSurface; incentives: Incentives }>;
}

export interface EffectivePolicy extends PlanSurface {
  surface: string;
  plan: string;
  meter: Meter;
  incentives: Incentives;
}

/** Terms are computed once per catalog object and surface: the hot path asks for them on every request. */
const termsCache = new WeakMap<Catalog, Map<string, SurfaceTerms>>();

export function surfaceTerms(catalog: Catalog, surface: string): SurfaceTerms {
  let perSurface = termsCache.get(catalog);
  if (!perSurface) termsCache.set(catalog, (perSurface = new Map()));
  let terms = perSurface.get(surface);
  if (!terms) perSurface.set(surface, (terms = computeTerms(catalog, surface)));
  return terms;
}

function computeTerms(catalog: Catalog, surface: string): SurfaceTerms {
  const meter = catalog.surfaces[surface]?.meter ?? { unit: "request", count: { from: "request" } };
  const plans: SurfaceTerms["plans"] = {};
  for (const [planId, plan] of Object.entries(catalog.plans)) {
    const entry = plan.surfaces[surface];
    plans[planId] = entry ? { entry, incentives: plan.incentives } : { incentives: plan.incentives };
  }
  const leasable = Object.values(plans).some((p) => p.entry?.admission === "leased");
  const delegation = catalog.surfaces[surface]?.delegation;
  return { meter, plans, ...(leasable && { leasable }), ...(delegation && delegation !== "allowed" && { delegation }) };
}

export function effectivePolicy(tenant: TenantTerms, surface: string, terms: SurfaceTerms): EffectivePolicy {
  const plan = terms.plans[tenant.plan];
  const base: PlanSurface = plan?.entry ?? { rule: "prohibited" satisfies Rule };
  const override = tenant.overrides[surface] ?? {};
  return {
    ...base,
    ...override,
    rule: base.rule,
    surface,
    plan: tenant.plan,
    meter: terms.meter,
    incentives: plan?.incentives ?? {},
  };
}

/** Why a rule refuses this tenant, or null when the rule admits it (CONTRACT §2 Rules). */
export function ruleRefusal(policy: EffectivePolicy, addons: string[]): "surface-prohibited" | "premium-required" | null {
  if (policy.rule === "prohibited") return "surface-prohibited";
  if (policy.rule === "premium" && !addons.includes(policy.surface)) return "premium-required";
  return null;
}

/** The terms of every surface of the catalog this tenant may call (rule not refusing it). */
export function callableTerms(catalog: Catalog, tenant: TenantTerms): Record<string, SurfaceTerms> {
  const out: Record<string, SurfaceTerms> = {};
  for (const surface of Object.keys(catalog.surfaces)) {
    const terms = surfaceTerms(catalog, surface);
    if (ruleRefusal(effectivePolicy(tenant, surface, terms), tenant.addons) === null) out[surface] = terms;
  }
  return out;
}
