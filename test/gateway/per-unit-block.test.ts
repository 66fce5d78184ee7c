// Prices for a block of units (`price.per`, issue 10): a 1 GB sync priced per GB is charged
// exactly, through the real request path, and agrees with the rollups.
import { beforeAll, describe, expect, it } from "vitest";
import { chargeFor } from "../../src/pricing/charge";
import type { EffectivePolicy } from "../../src/limiter/policy";
import { admin, adminOk, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

const GB = 1_000_000_000;
let key: string;

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      sync: { routes: ["GET /v1/sync/*"], meter: { unit: "byte", count: { from: "response-bytes" } } },
      rows: { routes: ["GET /v1/events"], meter: { unit: "row", count: { from: "response-header", name: "Events-Delivered" } } },
    },
    plans: {
      p: {
        surfaces: {
          sync: { rule: "metered", price: { unit: "0.09", per: GB } },
          rows: { rule: "metered", price: { unit: "0.25", per: 1000 }, quota: { limit: 10_000, period: "month", overage: "bill" } },
        },
        incentives: { conditional: 0.1 },
      },
    },
  });
  ({ key } = await tenantWithKey({ id: "per-block", plan: "p" }));
});

const none = { idempotencyKey: false, notModified: false };
const policy = (price: EffectivePolicy["price"]): EffectivePolicy => ({ surface: "s", rule: "metered", meter: { unit: "byte", count: { from: "response-bytes" } }, price, incentives: {} }) as EffectivePolicy;

describe("price per a block of units", () => {
  it("charges exactly: 1 GB at 0.09 per GB is 0.09, half a GB 0.045, one byte rounds half-even to 0", () => {
    expect(chargeFor(policy({ unit: "0.09", per: GB }), GB, 0, none).cost).toBe(90_000);
    expect(chargeFor(policy({ unit: "0.09", per: GB }), GB / 2, 0, none).cost).toBe(45_000);
    expect(chargeFor(policy({ unit: "0.09", per: GB }), 1, 0, none).cost).toBe(0);
    // Without `per` a request's units stop at 10^7; with it at 10^7 blocks.
    expect(chargeFor(policy({ unit: "0.000001" }), GB, 0, none).units).toBe(10_000_000);
    expect(chargeFor(policy({ unit: "0.09", per: GB }), 5 * GB, 0, none).units).toBe(5 * GB);
  });

  it("a 1 GB sync through the gateway is charged 0.09 and the rollup agrees", async () => {
    const res = await call(key, `/v1/sync/dump?bytes=${GB}`);
    let bytes = 0;
    for await (const chunk of res.body!) bytes += chunk.byteLength;
    expect(res.status).toBe(200);
    expect(bytes).toBe(GB);
    expect(res.headers.get("Tollgate-Units")).toBe(String(GB));
    expect(res.headers.get("Tollgate-Cost")).toBe("0.09");
    const rows = await adminOk<{ units: number; cost: string }[]>("GET", "/usage?tenant=per-block&surface=sync&granularity=month");
    expect(rows).toEqual([expect.objectContaining({ units: GB, cost: "0.09" })]);
  }, 60_000);

  it("prices per 1,000 rows, with overage past the quota and incentives in the same single rounding", async () => {
    const res = await call(key, "/v1/events?events=12345");
    await res.arrayBuffer();
    expect(res.headers.get("Tollgate-Units")).toBe("12345");
    // 12345 rows × 0.25 / 1000 = 3.08625 (the 2,345 past the quota bill at the same price).
    expect(res.headers.get("Tollgate-Cost")).toBe("3.08625");
  });

  it("refuses a per outside 1 … 10^9", async () => {
    for (const per of [0, 1.5, 2 * GB]) {
      const res = await admin("PUT", "/catalog?dryRun=true", {
        currency: "USD",
        surfaces: { s: { routes: ["GET /s"] } },
        plans: { p: { surfaces: { s: { rule: "metered", price: { unit: "1", per } } } } },
      });
      const p = await expectProblem(res, 400, "invalid-request");
      expect((p.errors as { path: string }[]).map((e) => e.path)).toEqual(["/plans/p/surfaces/s/price/per"]);
    }
  });
});
