// The catalog schema's promise (docs/catalog-bounds.md): whatever it accepts can be charged
// exactly, and whatever exceeds a bound is refused at the field that exceeds it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import demoCatalog from "../../examples/demo-catalog.json";
import {
  issuesOf,
  MAX_CONCURRENCY,
  MAX_QUOTA_LIMIT,
  MAX_RATE_LIMIT,
  MAX_RATE_WINDOW,
  MIN_RATE_WINDOW,
  parseCatalog,
  pointerOf,
  type Catalog,
} from "../../src/catalog/schema";
import { effectivePolicy, surfaceTerms, type SurfaceOverride } from "../../src/limiter/policy";
import { MAX_CHARGE_MICROS, MAX_MULTIPLIER, MAX_PRICE, MAX_PRICE_MICROS, MAX_UNITS_PER_REQUEST } from "../../src/pricing/bounds";
import { chargeFor } from "../../src/pricing/charge";
import { formatMoney, parseMoney } from "../../src/pricing/money";
import { TenantCreate } from "../../src/tenants/schema";
import { basicCatalog } from "../support/catalogs";
import { everySignal, referenceCharge } from "../support/charge-reference";

const SEED = 20260514;

// What a careless or hostile author can send; JSON's own oddities included ("1e400" parses to Infinity).
const oddNumber = fc.oneof(
  fc.constantFrom(-1, -0, 0.5, 1e-7, NaN, Infinity, -Infinity, JSON.parse("1e400") as number, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e21, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.double(),
  fc.integer(),
);
const oddMoney = fc.oneof(fc.constantFrom("100.000001", "101", "1000000", "9".repeat(40), "0.0000001", "-1", "1e3", "", " 1", "NaN", "01"), fc.string());

// Rare per field, as a catalog has dozens of numbers and one odd one refuses it whole.
const ODD = 1;
const IN_RANGE = 40;
/** Mostly in range with its extremes often, out of range now and then. */
const num = (inRange: fc.Arbitrary<number>) => fc.oneof({ weight: IN_RANGE, arbitrary: inRange }, { weight: ODD, arbitrary: oddNumber });
const int = (min: number, max: number) => num(fc.oneof(fc.constantFrom(min, max), fc.integer({ min, max })));
const money = fc.oneof(
  { weight: IN_RANGE, arbitrary: fc.oneof(fc.constantFrom(MAX_PRICE, "0", "0.000001"), fc.integer({ min: 0, max: MAX_PRICE_MICROS }).map(formatMoney)) },
  { weight: ODD, arbitrary: oddMoney },
);
const multiplier = num(fc.oneof(fc.constantFrom(0, 1, MAX_MULTIPLIER, 1.999999, 0.000001), fc.integer({ min: 0, max: MAX_MULTIPLIER * 1e6 }).map((n) => n / 1e6)));
const rateWindow = num(fc.oneof(fc.constantFrom(MIN_RATE_WINDOW, MAX_RATE_WINDOW, 1, 60), fc.double({ min: MIN_RATE_WINDOW, max: MAX_RATE_WINDOW, noNaN: true })));

const limits = {
  rate: fc.record({ limit: int(1, MAX_RATE_LIMIT), window: rateWindow, burst: int(1, MAX_RATE_LIMIT) }, { requiredKeys: ["limit", "window"] }),
  quota: fc.record({ limit: int(0, MAX_QUOTA_LIMIT), period: fc.constantFrom("hour", "day", "week", "month"), overage: fc.constantFrom("block", "bill") }),
  price: fc.record({ unit: money, overage: money }, { requiredKeys: ["unit"] }),
  concurrency: int(1, MAX_CONCURRENCY),
};
// A charged rule without a price is refused by a cross-check; give most entries a price.
const planSurface = fc.oneof(
  { weight: 4, arbitrary: fc.record({ rule: fc.constantFrom("included", "metered", "premium", "prohibited"), ...limits }, { requiredKeys: ["rule", "price"] }) },
  { weight: 1, arbitrary: fc.record({ rule: fc.constantFrom("included", "metered", "premium", "prohibited"), ...limits }, { requiredKeys: ["rule"] }) },
);
const incentives = fc.record({ "idempotency-key": multiplier, batch: fc.record({ minUnits: int(1, MAX_UNITS_PER_REQUEST), multiplier }), conditional: multiplier }, { requiredKeys: [] });

// One surface per meter, so every way of counting units meets every price.
const surfaces = {
  once: { routes: ["POST /once"] },
  records: { routes: ["POST /records"], meter: { unit: "record", count: { from: "json-array", pointer: "/records" } } },
  events: { routes: ["GET /events"], meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } } },
  bytes: { routes: ["GET /bytes"], meter: { unit: "byte", count: { from: "response-bytes" } } },
};
const planSurfaces = fc.record({ once: planSurface, records: planSurface, events: planSurface, bytes: planSurface }, { requiredKeys: [] });
const plan = fc.record({ surfaces: planSurfaces, incentives }, { requiredKeys: ["surfaces"] });
const catalogInput = fc.record({ currency: fc.constant("USD"), surfaces: fc.constant(surfaces), plans: fc.record({ a: plan, b: plan }, { requiredKeys: ["a"] }) });
const overridesInput = fc.record({ once: fc.record(limits, { requiredKeys: [] }), bytes: fc.record(limits, { requiredKeys: [] }) }, { requiredKeys: [] });

const units = fc.oneof(fc.constantFrom(0, 1, MAX_UNITS_PER_REQUEST - 1, MAX_UNITS_PER_REQUEST), fc.integer({ min: 0, max: MAX_UNITS_PER_REQUEST }));
const usedBefore = fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());

/** Charges every surface of every plan, with and without the overrides, and checks each charge. */
function chargeEverything(catalog: Catalog, overrides: Record<string, SurfaceOverride>, unitCounts: number[], used: number): number {
  let charges = 0;
  for (const planId of Object.keys(catalog.plans)) {
    for (const surface of Object.keys(catalog.surfaces)) {
      for (const o of [{}, overrides]) {
        const policy = effectivePolicy({ plan: planId, addons: Object.keys(catalog.surfaces), overrides: o }, surface, surfaceTerms(catalog, surface));
        for (const n of unitCounts) {
          for (const before of [0, used, policy.quota?.limit ?? 0]) {
            for (const signals of everySignal) {
              const c = chargeFor(policy, n, before, signals);
              const where = JSON.stringify({ policy, n, before, signals });
              expect(Number.isSafeInteger(c.cost) && c.cost >= 0 && c.cost <= MAX_CHARGE_MICROS, where).toBe(true);
              expect(Number.isSafeInteger(c.baseCost) && Number.isSafeInteger(c.savings), where).toBe(true);
              expect(parseMoney(formatMoney(c.cost)), where).toBe(c.cost);
              const exact = referenceCharge(policy, n, before, signals);
              expect([BigInt(c.baseCost), BigInt(c.cost)], where).toEqual([exact.base, exact.cost]);
              charges++;
            }
          }
        }
      }
    }
  }
  return charges;
}

describe("any accepted catalog can be charged without throwing", () => {
  it("the demo catalog and the test catalog are accepted", () => {
    expect(parseCatalog(demoCatalog).ok).toBe(true);
    expect(parseCatalog(basicCatalog).ok).toBe(true);
  });

  it("for generated catalogs and tenant overrides, every charge is an exact safe integer that survives formatting", () => {
    let accepted = 0;
    let refused = 0;
    let withOverrides = 0;
    fc.assert(
      fc.property(catalogInput, fc.boolean(), overridesInput, fc.array(units, { minLength: 1, maxLength: 3 }), usedBefore, (raw, viaJson, rawOverrides, unitCounts, used) => {
        // The admin API sees JSON: NaN and Infinity arrive as null there, as themselves here.
        const parsed = parseCatalog(viaJson ? JSON.parse(JSON.stringify(raw)) : raw);
        if (!parsed.ok) return void refused++;
        accepted++;
        const tenant = TenantCreate.safeParse({ id: "t", kind: "customer", plan: "a", overrides: rawOverrides });
        if (tenant.success && Object.keys(tenant.data.overrides).length > 0) withOverrides++;
        chargeEverything(parsed.catalog, tenant.success ? tenant.data.overrides : {}, unitCounts, used);
      }),
      { seed: SEED, numRuns: 250 },
    );
    // The generator must reach both sides, or the property proves nothing.
    expect(accepted).toBeGreaterThan(40);
    expect(refused).toBeGreaterThan(40);
    expect(withOverrides).toBeGreaterThan(20);
  });
});

// A catalog with every number at its bound: the worst case the budget has to carry.
const atBounds = {
  rate: { limit: MAX_RATE_LIMIT, window: MAX_RATE_WINDOW, burst: MAX_RATE_LIMIT },
  quota: { limit: MAX_QUOTA_LIMIT, period: "month", overage: "bill" },
  price: { unit: MAX_PRICE, overage: MAX_PRICE },
  concurrency: MAX_CONCURRENCY,
};
const worstCatalog = {
  currency: "USD",
  surfaces: { bytes: { routes: ["GET /bytes"], meter: { unit: "byte", count: { from: "response-bytes" } } } },
  plans: {
    top: {
      surfaces: { bytes: { rule: "metered", ...atBounds } },
      incentives: { "idempotency-key": MAX_MULTIPLIER, batch: { minUnits: MAX_UNITS_PER_REQUEST, multiplier: MAX_MULTIPLIER }, conditional: MAX_MULTIPLIER },
    },
  },
};

describe("a number past its bound is refused where it stands", () => {
  it("the catalog at every bound is accepted and its worst charge is exactly MAX_CHARGE_MICROS", () => {
    expect(MAX_CHARGE_MICROS).toBe(8e15);
    expect(MAX_CHARGE_MICROS).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    const parsed = parseCatalog(worstCatalog);
    expect(parsed.ok && parsed.catalog).toBeTruthy();
    if (!parsed.ok) return;
    const policy = effectivePolicy({ plan: "top", addons: [], overrides: {} }, "bytes", surfaceTerms(parsed.catalog, "bytes"));
    for (const before of [0, MAX_QUOTA_LIMIT, Number.MAX_SAFE_INTEGER]) {
      expect(chargeFor(policy, MAX_UNITS_PER_REQUEST, before, { idempotencyKey: true, notModified: true }).cost).toBe(MAX_CHARGE_MICROS);
      // Units the meters and the request path should have clamped are charged as the maximum.
      expect(chargeFor(policy, 10 * MAX_UNITS_PER_REQUEST, before, { idempotencyKey: true, notModified: true }).cost).toBe(MAX_CHARGE_MICROS);
    }
    expect(TenantCreate.safeParse({ id: "t", kind: "customer", plan: "top", overrides: { bytes: { rate: atBounds.rate, quota: atBounds.quota, price: atBounds.price } } }).success).toBe(true);
  });

  const past = (max: number) => fc.oneof(fc.constant(max + 1), fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(2 ** 53, 1e21, 1e300));
  const pastDouble = (max: number) => fc.oneof(fc.constant(max + 0.001), fc.double({ min: max, minExcluded: true, max: 1e300, noNaN: true }), fc.constant(Infinity));
  const pastPrice = fc.oneof(fc.constantFrom("100.000001", "101", "9".repeat(40)), fc.bigInt({ min: BigInt(MAX_PRICE_MICROS) + 1n, max: 10n ** 30n }).map(formatMoney));
  const pastMultiplier = fc.oneof(fc.constant(2.000001), fc.integer({ min: 2_000_001, max: 1e9 }).map((n) => n / 1e6), pastDouble(MAX_MULTIPLIER));
  const tooPrecise = fc.oneof(fc.constantFrom(0.1234567, 1e-7, 1.0000001, 0.30000000000000004), fc.integer({ min: 1, max: 2e9 }).filter((n) => n % 10 !== 0).map((n) => n / 1e9));
  const belowWindow = fc.oneof(fc.constantFrom(0, -0, -1, 0.0009), fc.double({ min: -1e300, max: MIN_RATE_WINDOW, maxExcluded: true, noNaN: true }));

  const S = ["plans", "top", "surfaces", "bytes"];
  const I = ["plans", "top", "incentives"];
  // [field, values past its bound, what its message must name]
  const bounds: [string[], fc.Arbitrary<unknown>, string][] = [
    [[...S, "price", "unit"], pastPrice, `"${MAX_PRICE}"`],
    [[...S, "price", "overage"], pastPrice, `"${MAX_PRICE}"`],
    [[...S, "rate", "limit"], past(MAX_RATE_LIMIT), String(MAX_RATE_LIMIT)],
    [[...S, "rate", "burst"], past(MAX_RATE_LIMIT), String(MAX_RATE_LIMIT)],
    [[...S, "rate", "window"], pastDouble(MAX_RATE_WINDOW), String(MAX_RATE_WINDOW)],
    [[...S, "rate", "window"], belowWindow, String(MIN_RATE_WINDOW)],
    [[...S, "quota", "limit"], past(MAX_QUOTA_LIMIT), String(MAX_QUOTA_LIMIT)],
    [[...S, "concurrency"], past(MAX_CONCURRENCY), String(MAX_CONCURRENCY)],
    [[...I, "idempotency-key"], pastMultiplier, String(MAX_MULTIPLIER)],
    [[...I, "batch", "multiplier"], pastMultiplier, String(MAX_MULTIPLIER)],
    [[...I, "conditional"], pastMultiplier, String(MAX_MULTIPLIER)],
    [[...I, "conditional"], tooPrecise, "6 decimals"],
    [[...I, "batch", "minUnits"], past(MAX_UNITS_PER_REQUEST), String(MAX_UNITS_PER_REQUEST)],
  ];

  const withValue = (document: unknown, path: string[], value: unknown): unknown => {
    const copy = structuredClone(document) as Record<string, unknown>;
    let at = copy;
    for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
    at[path.at(-1)!] = value;
    return copy;
  };

  it.each(bounds.map(([path, values, names]) => ({ field: pointerOf(path), path, values, names })))("$field", ({ field, path, values, names }) => {
    let named = 0;
    fc.assert(
      fc.property(values, (value) => {
        const parsed = parseCatalog(withValue(worstCatalog, path, value));
        expect(parsed.ok, String(value)).toBe(false);
        if (parsed.ok) return;
        const here = parsed.errors.filter((e) => e.path === field);
        expect(here.length, JSON.stringify(parsed.errors)).toBeGreaterThan(0);
        expect(parsed.errors.every((e) => e.path === field), JSON.stringify(parsed.errors)).toBe(true);
        // A finite number or a decimal is told the bound; Infinity is refused as not a number.
        if (typeof value === "string" || Number.isFinite(value)) {
          expect(here.map((e) => e.message).join("; ")).toContain(names);
          named++;
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
    expect(named).toBeGreaterThan(15);
  });

  it.each(bounds.filter(([path]) => path[2] === "surfaces" && path[4] !== "concurrency").map(([path, values]) => ({ field: pointerOf(path.slice(4)), path, values })))(
    "a tenant override's $field has the same bound",
    ({ path, values }) => {
      const overridePath = ["overrides", "bytes", ...path.slice(4)];
      const tenant = { id: "t", kind: "customer", plan: "top", overrides: { bytes: { rate: atBounds.rate, quota: atBounds.quota, price: atBounds.price } } };
      fc.assert(
        fc.property(values, (value) => {
          const parsed = TenantCreate.safeParse(withValue(tenant, overridePath, value));
          expect(parsed.success).toBe(false);
          if (parsed.success) return;
          expect(issuesOf(parsed.error).map((e) => e.path)).toContain(pointerOf(overridePath));
        }),
        { seed: SEED, numRuns: 30 },
      );
    },
  );
});
