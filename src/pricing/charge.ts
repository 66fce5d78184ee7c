// What a charged request costs, in integer micro-units (CONTRACT §2 Rules, Quota, Incentives,
// Money): units × unit price (units past a `bill` quota at the overage price), then every
// applicable incentive multiplied in, rounded once half-even to a micro-unit.
import type { EffectivePolicy } from "../limiter/policy";
import { applicableIncentives, type IncentiveName, type PatternSignals } from "./incentives";
import { parseMoney } from "./money";
import { multiplyMicros } from "./rounding";

export interface Charge {
  units: number;
  cost: number; // micro-units, after incentives
  baseCost: number; // micro-units, before incentives
  savings: number; // baseCost - cost; negative for a surcharge
  overageUnits: number;
  incentives: IncentiveName[];
}

/** `usedBefore` is the quota already used in the period when this request is charged. */
export function chargeFor(policy: EffectivePolicy, units: number, usedBefore: number, signals: PatternSignals): Charge {
  const overageUnits = policy.quota ? Math.max(0, Math.min(units, usedBefore + units - policy.quota.limit)) : 0;
  if (policy.rule === "included" || !policy.price) {
    return { units, cost: 0, baseCost: 0, savings: 0, overageUnits, incentives: [] };
  }
  const unit = parseMoney(policy.price.unit);
  const overage = policy.price.overage !== undefined ? parseMoney(policy.price.overage) : unit;
  const baseCost = (units - overageUnits) * unit + overageUnits * overage;
  const applied = applicableIncentives(policy.incentives, units, signals);
  const cost = multiplyMicros(baseCost, applied.map((a) => a.multiplier));
  return { units, cost, baseCost, savings: baseCost - cost, overageUnits, incentives: applied.map((a) => a.name) };
}
