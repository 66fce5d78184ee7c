// docs/catalog-bounds.md through the admin API and the request path: a number past its bound is
// refused with its JSON Pointer, and an origin's absurd count is charged at the bound, not free.
import { beforeAll, describe, expect, it } from "vitest";
import type { CatalogInput } from "../../src/catalog/schema";
import { MAX_UNITS_PER_REQUEST } from "../../src/pricing/bounds";
import { admin, adminOk, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

const events = { routes: ["GET /events"], meter: { unit: "event", count: { from: "response-header" as const, name: "Events-Delivered" } } };
const atBound = {
  currency: "USD",
  surfaces: { events },
  plans: { top: { surfaces: { events: { rule: "metered", price: { unit: "100" } } }, incentives: { batch: { minUnits: 1, multiplier: 2 } } } },
} satisfies CatalogInput;

let version: number;
beforeAll(async () => {
  version = await loadCatalog(atBound);
});

describe("PUT /catalog refuses a number past its bound", () => {
  it("names every offending field and its bound, and changes nothing", async () => {
    const res = await admin("PUT", "/catalog", {
      currency: "USD",
      surfaces: { events },
      plans: {
        absurd: {
          surfaces: {
            events: { rule: "metered", price: { unit: "1000000" }, rate: { limit: 1, window: 0 }, quota: { limit: 1e18, period: "day" }, concurrency: 1e7 },
          },
          incentives: { "idempotency-key": 100, conditional: 0.1234567 },
        },
      },
    });
    const problem = await expectProblem(res, 400, "invalid-request");
    const byPath = Object.fromEntries((problem.errors as { path: string; message: string }[]).map((e) => [e.path, e.message]));
    expect(byPath).toMatchObject({
      "/plans/absurd/surfaces/events/price/unit": expect.stringContaining('at most "100"'),
      "/plans/absurd/surfaces/events/rate/window": expect.stringContaining("at least 0.001"),
      "/plans/absurd/surfaces/events/quota/limit": expect.stringContaining("at most 999999999999999"),
      "/plans/absurd/surfaces/events/concurrency": expect.stringContaining("at most 1000000"),
      "/plans/absurd/incentives/idempotency-key": expect.stringContaining("at most 2"),
      "/plans/absurd/incentives/conditional": expect.stringContaining("at most 6 decimals"),
    });
    expect((await adminOk<{ version: number }>("GET", "/catalog")).version).toBe(version);
  });

  it("POST /tenants refuses an override past the same bounds", async () => {
    const res = await admin("POST", "/tenants", { id: "absurd", kind: "customer", plan: "top", overrides: { events: { price: { unit: "100.000001" }, rate: { limit: 1e9, window: 1 } } } });
    const problem = await expectProblem(res, 400, "invalid-request");
    expect((problem.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(["/overrides/events/price/unit", "/overrides/events/rate/limit"]);
  });
});

describe("a count past MAX_UNITS_PER_REQUEST", () => {
  it("is charged as the maximum at the largest price and surcharge, exactly, not served free", async () => {
    const { key } = await tenantWithKey({ id: "at-bound", plan: "top" });
    const res = await call(key, "/events?events=999999999999999");
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    // 10^7 events × 100 × 2 = 2 000 000 000, in micro-units 2 × 10^15: exact.
    expect([res.headers.get("Tollgate-Units"), res.headers.get("Tollgate-Cost")]).toEqual([String(MAX_UNITS_PER_REQUEST), "2000000000"]);
  });
});
