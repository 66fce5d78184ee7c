// The pure advice core: only recommendations with evidence, exact savings, nothing for surcharges,
// unbatchable meters or surfaces not yet deprecated.
import { describe, expect, it } from "vitest";
import { recommend } from "../../src/advice/recommend";
import { Catalog } from "../../src/catalog/schema";
import type { RequestRow } from "../../src/simulation/simulate";

const NOW = Date.UTC(2026, 10, 24, 12);
const catalogWith = (incentives: Record<string, unknown>, deprecatedAt?: string) =>
  Catalog.parse({
    currency: "USD",
    surfaces: {
      one: { routes: ["POST /one"], ...(deprecatedAt && { deprecatedAt }) },
      batch: { routes: ["POST /b"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } },
    },
    plans: { p: { surfaces: { one: { rule: "metered", price: { unit: "0.000003" } }, batch: { rule: "metered", price: { unit: "0.01" } } }, incentives } },
  });
const tenant = { plan: "p", addons: [], overrides: {} };
const row = (r: Partial<RequestRow>): RequestRow => ({ tenant: "t", requestId: "r", at: NOW - 1000, surface: "one", actor: "t", payer: "t", outcome: "charged", status: 0, reason: null, units: 1, cost: 3, incentives: [], signals: 1, ...r });

describe("recommend", () => {
  it("answers nothing without evidence", () => {
    expect(recommend({ catalog: catalogWith({ "idempotency-key": 0.5, batch: { minUnits: 10, multiplier: 0.5 } }), tenant, rows: [], earlyRetries: {}, now: NOW })).toEqual([]);
  });

  it("rounds savings exactly as chargeFor charges: per call, half-even to a micro-unit", () => {
    // 0.000003 × 0.5 = 0.0000015 → 0.000002 (half-even): one call saves 0.000001, three save 0.000003.
    const rows = [row({}), row({}), row({})];
    const recs = recommend({ catalog: catalogWith({ "idempotency-key": 0.5 }), tenant, rows, earlyRetries: {}, now: NOW });
    expect(recs).toEqual([{ code: "use-idempotency-keys", surface: "one", evidence: { calls: 3, unsafeCalls: 3, multiplier: 0.5 }, savings: "0.000003" }]);
  });

  it("recommends nothing for a surcharge, for a meter the caller cannot batch, or for a deprecation still ahead", () => {
    const rows = [row({}), row({ surface: "batch", units: 2, cost: 20_000, signals: 3 })];
    expect(recommend({ catalog: catalogWith({ "idempotency-key": 1.2 }), tenant, rows, earlyRetries: {}, now: NOW })).toEqual([]);
    const batching = recommend({ catalog: catalogWith({ batch: { minUnits: 5, multiplier: 0.5 } }, "2099-01-01T00:00:00Z"), tenant, rows, earlyRetries: {}, now: NOW });
    expect(batching.map((r) => `${r.code} ${r.surface} ${r.savings}`)).toEqual(["use-batching batch 0.01"]);
  });

  it("names early retries from the rollups even on a surface without rows", () => {
    expect(recommend({ catalog: catalogWith({}), tenant, rows: [], earlyRetries: { one: 4 }, now: NOW })).toEqual([{ code: "honor-retry-after", surface: "one", evidence: { earlyRetries: 4 }, savings: "0" }]);
  });
});
