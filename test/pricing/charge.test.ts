import { describe, expect, it } from "vitest";
import type { EffectivePolicy } from "../../src/limiter/policy";
import { chargeFor } from "../../src/pricing/charge";
import { noSignals } from "../../src/pricing/incentives";
import { formatMoney, parseMoney } from "../../src/pricing/money";
import { decimalFraction, divideHalfEven, multiplyMicros } from "../../src/pricing/rounding";

const policy = (over: Partial<EffectivePolicy> = {}): EffectivePolicy => ({
  surface: "s",
  plan: "p",
  rule: "metered",
  meter: { unit: "record", count: { from: "request" } },
  price: { unit: "0.001" },
  incentives: { "idempotency-key": 0.9, batch: { minUnits: 10, multiplier: 0.5 }, conditional: 0.1 },
  ...over,
});

describe("money", () => {
  it("parses decimal strings to micro-units and back", () => {
    expect(parseMoney("0.001")).toBe(1000);
    expect(parseMoney("12.5")).toBe(12_500_000);
    expect(parseMoney("0.000001")).toBe(1);
    expect(formatMoney(1000)).toBe("0.001");
    expect(formatMoney(12_500_000)).toBe("12.5");
    expect(formatMoney(0)).toBe("0");
    expect(formatMoney(-250_000)).toBe("-0.25");
    expect(() => parseMoney("0.0000001")).toThrow();
  });
});

describe("rounding", () => {
  it("reads multipliers as the decimals they were written as", () => {
    expect(decimalFraction(0.9)).toEqual({ numerator: 9n, denominator: 10n });
    expect(decimalFraction(0.333333)).toEqual({ numerator: 333333n, denominator: 1000000n });
    expect(decimalFraction(1.25)).toEqual({ numerator: 125n, denominator: 100n });
    expect(decimalFraction(2)).toEqual({ numerator: 2n, denominator: 1n });
    expect(decimalFraction(1e-7)).toEqual({ numerator: 1n, denominator: 10000000n });
  });

  it("rounds half to even", () => {
    expect([5n, 15n, 25n, 35n].map((n) => divideHalfEven(n, 10n))).toEqual([0n, 2n, 2n, 4n]);
    expect(divideHalfEven(16n, 10n)).toBe(2n);
    expect(divideHalfEven(14n, 10n)).toBe(1n);
  });

  it("3 units × 0.333333 × 0.9 = 0.899999 (899999.1 micro-units, rounded once)", () => {
    const p = policy({ price: { unit: "0.333333" } });
    const c = chargeFor(p, 3, 0, { idempotencyKey: true, notModified: false });
    expect(c.baseCost).toBe(999_999);
    expect(c.cost).toBe(899_999);
    expect(formatMoney(c.cost)).toBe("0.899999");
    expect(c.savings).toBe(100_000);
  });

  it("rounds only once across several multipliers", () => {
    // 0.000003 × 0.5 × 0.5: per-step rounding would give 2 → 1 (or 2 → 0); once gives 0.75 → 1.
    expect(multiplyMicros(3, [0.5, 0.5])).toBe(1);
    // 0.000005 × 0.5 = 2.5 → 2 (even); × 0.7 = 3.5 → 4 (even).
    expect(multiplyMicros(5, [0.5])).toBe(2);
    expect(multiplyMicros(5, [0.7])).toBe(4);
  });
});

describe("charges", () => {
  it("included costs nothing, metered costs units × price", () => {
    expect(chargeFor(policy({ rule: "included" }), 5, 0, noSignals)).toMatchObject({ units: 5, cost: 0, incentives: [] });
    expect(chargeFor(policy(), 5, 0, noSignals)).toMatchObject({ units: 5, cost: 5000, incentives: [] });
  });

  it("each incentive alone", () => {
    expect(chargeFor(policy(), 2, 0, { idempotencyKey: true, notModified: false })).toMatchObject({ cost: 1800, incentives: ["idempotency-key"] });
    expect(chargeFor(policy(), 10, 0, noSignals)).toMatchObject({ cost: 5000, incentives: ["batch"] });
    expect(chargeFor(policy(), 9, 0, noSignals)).toMatchObject({ cost: 9000, incentives: [] });
    expect(chargeFor(policy(), 1, 0, { idempotencyKey: false, notModified: true })).toMatchObject({ cost: 100, incentives: ["conditional"] });
  });

  it("incentives combine multiplicatively and report themselves", () => {
    const c = chargeFor(policy(), 20, 0, { idempotencyKey: true, notModified: true });
    // 20 × 1000 × 0.9 × 0.5 × 0.1 = 900
    expect(c).toMatchObject({ baseCost: 20_000, cost: 900, savings: 19_100, incentives: ["idempotency-key", "batch", "conditional"] });
  });

  it("a multiplier above 1 is a surcharge with negative savings", () => {
    const c = chargeFor(policy({ incentives: { "idempotency-key": 1.5 } }), 2, 0, { idempotencyKey: true, notModified: false });
    expect(c).toMatchObject({ cost: 3000, savings: -1000, incentives: ["idempotency-key"] });
  });

  it("units past a `bill` quota are priced at the overage price", () => {
    const p = policy({ quota: { limit: 10, period: "day", overage: "bill" }, price: { unit: "0.001", overage: "0.002" }, incentives: {} });
    expect(chargeFor(p, 5, 8, noSignals)).toMatchObject({ overageUnits: 3, cost: 2 * 1000 + 3 * 2000 });
    expect(chargeFor(p, 5, 20, noSignals)).toMatchObject({ overageUnits: 5, cost: 10_000 });
    expect(chargeFor(p, 5, 0, noSignals)).toMatchObject({ overageUnits: 0, cost: 5000 });
    const noOverage = policy({ quota: { limit: 1, period: "day", overage: "bill" }, incentives: {} });
    expect(chargeFor(noOverage, 3, 0, noSignals).cost).toBe(3000); // overage defaults to the unit price
  });
});
