// Money arithmetic against an exact bigint reference (test/support/charge-reference.ts).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EffectivePolicy } from "../../src/limiter/policy";
import { MAX_CHARGE_MICROS, MAX_MULTIPLIER, MAX_PRICE_MICROS, MAX_UNITS_PER_REQUEST } from "../../src/pricing/bounds";
import { chargeFor } from "../../src/pricing/charge";
import { formatMoney, parseMoney, parseMoneyExact } from "../../src/pricing/money";
import { multiplyExact, multiplyMicros } from "../../src/pricing/rounding";
import { decimalOf, everySignal, microsOf, referenceCharge, referenceMultiply } from "../support/charge-reference";

const SEED = 20260514;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const INT64_MAX = 2n ** 63n - 1n;

/** A decimal string as an author writes it: any whole part, 0–6 decimals, trailing zeros allowed. */
const decimal = fc
  .tuple(fc.oneof(fc.constantFrom(0n, 9_007_199_254n, 9_007_199_255n), fc.bigInt({ min: 0n, max: 10n ** 20n })), fc.stringMatching(/^\d{0,6}$/))
  .map(([whole, fraction]) => (fraction === "" ? String(whole) : `${whole}.${fraction}`));
const multiplier = fc.oneof(fc.constantFrom(0, 0.1, 0.5, 0.9, 1, 1.2, 0.333333, 1.999999, MAX_MULTIPLIER), fc.integer({ min: 0, max: MAX_MULTIPLIER * 1e6 }).map((n) => n / 1e6));
const money = fc.integer({ min: 0, max: MAX_PRICE_MICROS }).map(formatMoney);
const units = fc.oneof(fc.constantFrom(0, 1, MAX_UNITS_PER_REQUEST), fc.integer({ min: 0, max: MAX_UNITS_PER_REQUEST }));
const signals = fc.constantFrom(...everySignal);

const policy: fc.Arbitrary<EffectivePolicy> = fc
  .record({
    unit: money,
    overage: fc.option(money, { nil: undefined }),
    quota: fc.option(fc.integer({ min: 0, max: 2 * MAX_UNITS_PER_REQUEST }), { nil: undefined }),
    key: fc.option(multiplier, { nil: undefined }),
    batch: fc.option(fc.record({ minUnits: fc.integer({ min: 1, max: MAX_UNITS_PER_REQUEST }), multiplier }), { nil: undefined }),
    conditional: fc.option(multiplier, { nil: undefined }),
  })
  .map((p) => ({
    surface: "s",
    plan: "p",
    rule: "metered",
    meter: { unit: "record", count: { from: "request" } },
    price: { unit: p.unit, ...(p.overage !== undefined && { overage: p.overage }) },
    ...(p.quota !== undefined && { quota: { limit: p.quota, period: "month" as const, overage: "bill" as const } }),
    incentives: {
      ...(p.key !== undefined && { "idempotency-key": p.key }),
      ...(p.batch !== undefined && { batch: p.batch }),
      ...(p.conditional !== undefined && { conditional: p.conditional }),
    },
  }));

describe("parseMoney and formatMoney", () => {
  it("round-trip every decimal string: exact in range, refused past 2^53 − 1 micro-units", () => {
    fc.assert(
      fc.property(decimal, (text) => {
        const exact = microsOf(text);
        expect(parseMoneyExact(text)).toBe(exact);
        if (exact > SAFE) return void expect(() => parseMoney(text)).toThrow(RangeError);
        expect(parseMoney(text)).toBe(Number(exact));
        expect(formatMoney(parseMoney(text))).toBe(decimalOf(exact)); // canonical: no trailing zeros
        expect(parseMoney(formatMoney(parseMoney(text)))).toBe(Number(exact));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("format every safe integer, negative ones too, and parse it back", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(0, 1, 999_999, 1_000_000, Number.MAX_SAFE_INTEGER), fc.maxSafeNat()), (micros) => {
        expect(formatMoney(micros)).toBe(decimalOf(BigInt(micros)));
        expect(parseMoney(formatMoney(micros))).toBe(micros);
        if (micros > 0) expect(formatMoney(-micros)).toBe(`-${formatMoney(micros)}`);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("format any sum D1 can hold without throwing: a bigint exactly, a rounded number as the integer it is", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(-INT64_MAX - 1n, INT64_MAX, SAFE + 1n, 2n ** 100n), fc.bigInt({ min: -INT64_MAX - 1n, max: INT64_MAX })), (sum) => {
        expect(formatMoney(sum)).toBe(decimalOf(sum));
        if (sum >= 0n) expect(parseMoneyExact(formatMoney(sum))).toBe(sum);
        // D1 hands an INTEGER back as a number, rounded past 2^53 (and SQLite overflows to REAL).
        const read = Number(sum);
        expect(formatMoney(read)).toBe(decimalOf(BigInt(read)));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("refuse what is not an integer amount", () => {
    for (const bad of [0.5, NaN, Infinity, -Infinity]) expect(() => formatMoney(bad)).toThrow(RangeError);
  });
});

describe("multiplyMicros", () => {
  it("equals the exact rational product rounded half to even", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: BigInt(MAX_PRICE_MICROS) * BigInt(MAX_UNITS_PER_REQUEST) }), fc.array(multiplier, { maxLength: 3 }), (micros, multipliers) => {
        const exact = referenceMultiply(micros, multipliers);
        expect(multiplyExact(micros, multipliers)).toBe(exact);
        expect(exact).toBeLessThanOrEqual(BigInt(MAX_CHARGE_MICROS));
        expect(multiplyMicros(Number(micros), multipliers)).toBe(Number(exact));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it("hits exact halves and rounds them to even", () => {
    // micros odd × 0.5 is always a tie; × 0.5 × 0.5 of 2 (mod 4) is too.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), (n) => {
        const odd = 2 * n + 1;
        expect(multiplyMicros(odd, [0.5])).toBe(n % 2 === 0 ? n : n + 1);
        expect(multiplyMicros(odd, [0.5])).toBe(Number(referenceMultiply(BigInt(odd), [0.5])));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("multiplying by 1 (or by nothing) is the identity", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (micros) => {
        expect(multiplyMicros(micros, [])).toBe(micros);
        expect(multiplyMicros(micros, [1])).toBe(micros);
        expect(multiplyMicros(micros, [1, 1, 1])).toBe(micros);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe("charges", () => {
  it("equal the exact reference for every bounded policy, units and quota used", () => {
    fc.assert(
      fc.property(policy, units, fc.oneof(fc.constant(0), fc.maxSafeNat()), signals, (p, n, usedBefore, s) => {
        const c = chargeFor(p, n, usedBefore, s);
        const exact = referenceCharge(p, n, usedBefore, s);
        expect([BigInt(c.baseCost), BigInt(c.cost)]).toEqual([exact.base, exact.cost]);
        expect(c.savings).toBe(c.baseCost - c.cost);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it("cost never falls as units grow, while the same incentives apply", () => {
    fc.assert(
      fc.property(policy, units, units, fc.nat({ max: 2 * MAX_UNITS_PER_REQUEST }), signals, (p, a, b, usedBefore, s) => {
        const [fewer, more] = a <= b ? [a, b] : [b, a];
        const small = chargeFor(p, fewer, usedBefore, s);
        const large = chargeFor(p, more, usedBefore, s);
        // Crossing batch.minUnits switches an incentive on: a discount the contract wants.
        fc.pre(small.incentives.join() === large.incentives.join());
        expect(large.cost).toBeGreaterThanOrEqual(small.cost);
        expect(large.baseCost).toBeGreaterThanOrEqual(small.baseCost);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it("sum exactly as numbers while the total stays a safe integer, and format exactly as a bigint beyond", () => {
    const charge = fc.tuple(policy, units, signals).map(([p, n, s]) => chargeFor(p, n, 0, s).cost);
    fc.assert(
      fc.property(fc.array(charge, { minLength: 1, maxLength: 200 }), (costs) => {
        // As rollup.ts adds costs: a number sum, checked against the bigint sum at every step.
        let asNumber = 0;
        let exact = 0n;
        for (const cost of costs) {
          asNumber += cost;
          exact += BigInt(cost);
          if (exact <= SAFE) expect(BigInt(asNumber)).toBe(exact);
        }
        expect(exact).toBeLessThanOrEqual(BigInt(costs.length) * BigInt(MAX_CHARGE_MICROS));
        expect(formatMoney(exact)).toBe(decimalOf(exact));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});
