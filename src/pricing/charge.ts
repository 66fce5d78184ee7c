// What a charged request costs, in integer micro-units (CONTRACT §2 Rules, Quota, Money).
import type { EffectivePolicy } from "../limiter/policy";
import { parseMoney } from "./money";

export interface Charge {
  units: number;
  cost: number; // micro-units
  overageUnits: number;
}

/**
 * `usedBefore` is the quota already used in the period when this request is charged: units past
 * the quota limit (admitted only with `overage: "bill"`) are priced at `price.overage`.
 */
export function chargeFor(policy: EffectivePolicy, units: number, usedBefore: number): Charge {
  const overageUnits = policy.quota ? Math.max(0, Math.min(units, usedBefore + units - policy.quota.limit)) : 0;
  if (policy.rule === "included" || !policy.price) return { units, cost: 0, overageUnits };
  const unit = parseMoney(policy.price.unit);
  const overage = policy.price.overage !== undefined ? parseMoney(policy.price.overage) : unit;
  return { units, cost: (units - overageUnits) * unit + overageUnits * overage, overageUnits };
}
