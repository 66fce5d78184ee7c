// `tollgate statements`: the period a flag means, and the check that the books balance
// (CONTRACT §7: Σ charges = Σ partnerEarnings + Σ platformNet, exactly, in micro-units).
// Pure, no node APIs; money is summed as bigint micro-units, never as floats.
import { formatMoney, parseMoneyExact } from "../src/pricing/money";
import { PeriodQuery, type Statement, type Statements } from "../src/metering/statements";
import { BadFlag } from "./tenant-patch";

export type { Statement, Statements };

/** The three amounts of a statement, and of the totals. */
export type Money3 = Statements["totals"];

/** The month of `now` in UTC, as YYYY-MM. */
export const currentPeriod = (now: Date) => now.toISOString().slice(0, 7);

export function periodFlag(text: string): string {
  // The gateway's own query schema for ?period=.
  if (!PeriodQuery.safeParse(text).success) throw new BadFlag(`"${text}" is not a month: expected YYYY-MM, e.g. 2026-11`);
  return text;
}

/** A decimal string, signed, to micro-units. */
export function micros(value: string): bigint {
  return value.startsWith("-") ? -parseMoneyExact(value.slice(1)) : parseMoneyExact(value);
}

const FIELDS = ["charges", "partnerEarnings", "platformNet"] as const;

/** Σ of each amount over the statements, exactly. */
export function sumsOf(items: readonly Money3[]): Record<(typeof FIELDS)[number], bigint> {
  const sums = { charges: 0n, partnerEarnings: 0n, platformNet: 0n };
  for (const item of items) for (const f of FIELDS) sums[f] += micros(item[f]);
  return sums;
}

/**
 * Why the answer does not add up, or nothing: the totals must be the sums of the statements, and
 * Σ charges must equal Σ partnerEarnings + Σ platformNet.
 */
export function imbalances(answer: { items: readonly Money3[]; totals: Money3 }): string[] {
  const sums = sumsOf(answer.items);
  const problems: string[] = [];
  for (const f of FIELDS) {
    if (sums[f] !== micros(answer.totals[f])) problems.push(`totals.${f} is ${answer.totals[f]} but the statements sum to ${formatMoney(sums[f])}`);
  }
  if (sums.charges !== sums.partnerEarnings + sums.platformNet) {
    problems.push(`charges ${formatMoney(sums.charges)} ≠ partner earnings ${formatMoney(sums.partnerEarnings)} + platform net ${formatMoney(sums.platformNet)}`);
  }
  return problems;
}
