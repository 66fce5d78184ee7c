// What a charged request costs, in integer micro-units (CONTRACT §2 Rules, Quota, Incentives,
// Money): units × unit price (units past a `bill` quota at the overage price), then every
// applicable incentive multiplied in, rounded once half-even to a micro-unit.
import type { EffectivePolicy } from "../limiter/policy";
import { maxUnitsPerRequest } from "./bounds";
import { applicableIncentives, type IncentiveName, type PatternSignals } from "./incentives";
import { parseMoneyExact } from "./money";
import { decimalFraction, divideHalfEven } from "./rounding";

export interface Charge {
  units: number; // the units charged: at most maxUnitsPerRequest(price.per)
  cost: number; // micro-units, after incentives
  baseCost: number; // micro-units, before incentives
  savings: number; // baseCost - cost; negative for a surcharge
  overageUnits: number;
  incentives: IncentiveName[];
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
// Unreachable within the schema's bounds (≤ 8 × 10^15); only a policy stored before them gets here.
const saturated = (micros: bigint) => Number(micros > SAFE ? SAFE : micros);

/**
 * `usedBefore` is the quota already used in the period when this request is charged; any
 * non-negative number. Never throws for a policy the catalog schema accepts: units above
 * maxUnitsPerRequest(price.per) are charged as that many (docs/catalog-bounds.md). A price `per`
 * a block of units divides the cost by the block size, in the same single rounding.
 */
export function chargeFor(policy: EffectivePolicy, counted: number, usedBefore: number, signals: PatternSignals): Charge {
  const units = Math.min(counted, maxUnitsPerRequest(policy.price?.per));
  // Quota left before this request, so no sum can leave the safe integers however large usedBefore is.
  const quotaLeft = policy.quota ? Math.max(0, policy.quota.limit - usedBefore) : units;
  const overageUnits = Math.max(0, units - quotaLeft);
  if (policy.rule === "included" || !policy.price) {
    return { units, cost: 0, baseCost: 0, savings: 0, overageUnits, incentives: [] };
  }
  const unit = parseMoneyExact(policy.price.unit);
  const overage = policy.price.overage !== undefined ? parseMoneyExact(policy.price.overage) : unit;
  const exactBase = BigInt(units - overageUnits) * unit + BigInt(overageUnits) * overage;
  const applied = applicableIncentives(policy.incentives, units, signals);
  const per = BigInt(policy.price.per ?? 1);
  const baseCost = saturated(divideHalfEven(exactBase, per));
  // units × price × every multiplier ÷ per, as one exact fraction rounded once half-even.
  let numerator = exactBase;
  let denominator = per;
  for (const a of applied) {
    const f = decimalFraction(a.multiplier);
    numerator *= f.numerator;
    denominator *= f.denominator;
  }
  const cost = saturated(divideHalfEven(numerator, denominator));
  return { units, cost, baseCost, savings: baseCost - cost, overageUnits, incentives: applied.map((a) => a.name) };
}
