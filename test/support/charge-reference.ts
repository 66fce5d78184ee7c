// An exact reference for money and charges, written independently of src/pricing: decimal
// strings split by hand, rationals in bigint, half-even by comparing distances to neighbours.
import type { EffectivePolicy } from "../../src/limiter/policy";
import type { PatternSignals } from "../../src/pricing/incentives";

/** "12.5" → 12500000n; the string must be a plain non-negative decimal with ≤ 6 decimals. */
export function microsOf(decimal: string): bigint {
  const [whole = "", fraction = ""] = decimal.split(".");
  if (!/^\d+$/.test(whole) || !/^\d{0,6}$/.test(fraction)) throw new Error(`reference: not a decimal ${decimal}`);
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
}

/** 12500000n → "12.5", by slicing the digit string rather than dividing. */
export function decimalOf(micros: bigint): string {
  const digits = (micros < 0n ? -micros : micros).toString().padStart(7, "0");
  const fraction = digits.slice(-6).replace(/0+$/, "");
  return `${micros < 0n ? "-" : ""}${digits.slice(0, -6)}${fraction ? "." + fraction : ""}`;
}

/** A multiplier as the decimal its shortest JavaScript spelling shows: 0.9 → 9/10. */
export function ratioOf(m: number): [bigint, bigint] {
  const text = String(m);
  const [whole = "", fraction = ""] = text.split(".");
  if (!/^\d+$/.test(whole) || !/^\d*$/.test(fraction)) throw new Error(`reference: not a plain decimal ${text}`);
  return [BigInt(whole + fraction), 10n ** BigInt(fraction.length)];
}

/** p / q rounded to the nearest integer, ties to the even one; p ≥ 0, q > 0. */
export function roundHalfEven(p: bigint, q: bigint): bigint {
  const lower = p / q;
  const toLower = p - lower * q;
  const toUpper = (lower + 1n) * q - p;
  if (toLower < toUpper) return lower;
  if (toLower > toUpper) return lower + 1n;
  return lower % 2n === 0n ? lower : lower + 1n;
}

export function referenceMultiply(micros: bigint, multipliers: number[]): bigint {
  let p = micros;
  let q = 1n;
  for (const m of multipliers) {
    const [n, d] = ratioOf(m);
    p *= n;
    q *= d;
  }
  return roundHalfEven(p, q);
}

/** The contract's charge (§2 Quota, Incentives, Money) in exact arithmetic. */
export function referenceCharge(policy: EffectivePolicy, units: number, usedBefore: number, signals: PatternSignals): { base: bigint; cost: bigint } {
  const u = BigInt(units);
  let overage = 0n;
  if (policy.quota) {
    overage = BigInt(usedBefore) + u - BigInt(policy.quota.limit);
    overage = overage < 0n ? 0n : overage > u ? u : overage;
  }
  if (policy.rule === "included" || !policy.price) return { base: 0n, cost: 0n };
  const unit = microsOf(policy.price.unit);
  const base = (u - overage) * unit + overage * microsOf(policy.price.overage ?? policy.price.unit);
  const multipliers: number[] = [];
  const i = policy.incentives;
  if (i["idempotency-key"] !== undefined && signals.idempotencyKey) multipliers.push(i["idempotency-key"]);
  if (i.batch && units >= i.batch.minUnits) multipliers.push(i.batch.multiplier);
  if (i.conditional !== undefined && signals.notModified) multipliers.push(i.conditional);
  return { base, cost: referenceMultiply(base, multipliers) };
}

export const everySignal: PatternSignals[] = [
  { idempotencyKey: false, notModified: false },
  { idempotencyKey: true, notModified: false },
  { idempotencyKey: false, notModified: true },
  { idempotencyKey: true, notModified: true },
];
