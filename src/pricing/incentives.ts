// Incentives of CONTRACT §2: multipliers on the cost of a charged request for integration
// patterns that are cheap to serve. Multiplicative; each one that applied is reported.
import type { Incentives } from "../catalog/schema";

/** The incentives of CONTRACT §2, in the order rollups, CSV columns and D1 columns list them: the one definition. */
export const INCENTIVE_NAMES = ["idempotency-key", "batch", "conditional"] as const;
export type IncentiveName = (typeof INCENTIVE_NAMES)[number];

/** What the request and its answer showed, as far as incentives care. */
export interface PatternSignals {
  /** An unsafe request carrying a valid Idempotency-Key. */
  idempotencyKey: boolean;
  /** A conditional request the origin answered with 304. */
  notModified: boolean;
}

export const noSignals: PatternSignals = { idempotencyKey: false, notModified: false };

export interface AppliedIncentive {
  name: IncentiveName;
  multiplier: number;
}

export function applicableIncentives(incentives: Incentives, units: number, signals: PatternSignals): AppliedIncentive[] {
  const applied: AppliedIncentive[] = [];
  const key = incentives["idempotency-key"];
  if (key !== undefined && signals.idempotencyKey) applied.push({ name: "idempotency-key", multiplier: key });
  if (incentives.batch && units >= incentives.batch.minUnits) applied.push({ name: "batch", multiplier: incentives.batch.multiplier });
  if (incentives.conditional !== undefined && signals.notModified) applied.push({ name: "conditional", multiplier: incentives.conditional });
  return applied;
}
