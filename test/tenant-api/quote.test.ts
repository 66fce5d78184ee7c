// POST /_tollgate/quote (CONTRACT §5): same answer as the real request, no side effects.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { CatalogInput } from "../../src/catalog/schema";
import type { QuoteAnswer } from "../../src/tenant-api/quote";
import { formatMoney } from "../../src/pricing/money";
import { adminOk, call, expectProblem, loadCatalog, send, tenantWithKey } from "../support/http";

const catalog = {
  currency: "USD",
  surfaces: {
    items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "/items" } } },
    feed: { routes: ["GET /feed"], meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } } },
    once: { routes: ["GET /once"] },
    closed: { routes: ["GET /closed"] },
  },
  plans: {
    p: {
      surfaces: {
        items: { rule: "metered", price: { unit: "0.002" }, quota: { limit: 100, period: "day" } },
        feed: { rule: "metered", price: { unit: "0.01" } },
        once: { rule: "included", rate: { limit: 1, window: 3600 } },
        closed: { rule: "prohibited" },
      },
      incentives: { "idempotency-key": 0.9, batch: { minUnits: 5, multiplier: 0.5 } },
    },
  },
} satisfies CatalogInput;

const quote = async (key: string, described: unknown): Promise<{ status: number; body: QuoteAnswer }> => {
  const res = await call(key, "/_tollgate/quote", { method: "POST", body: JSON.stringify(described), headers: { "Content-Type": "application/json" } });
  return { status: res.status, body: await res.json() };
};

let key: string;
beforeAll(async () => {
  await loadCatalog(catalog);
  ({ key } = await tenantWithKey({ id: "quoter", plan: "p" }));
});

describe("quote", () => {
  it("prices a request-counted call with its incentives", async () => {
    const q = await quote(key, { method: "post", path: "/items", headers: { "Idempotency-Key": "k1" }, body: { items: [1, 2, 3, 4, 5, 6] } });
    expect(q).toEqual({
      status: 200,
      body: { allowed: true, surface: "items", rule: "metered", units: 6, cost: "0.0054", incentives: ["idempotency-key", "batch"], unit: "item", payer: "quoter" },
    });
  });

  it("cannot know units that only the response tells", async () => {
    const q = await quote(key, { method: "GET", path: "/feed" });
    expect(q.body).toMatchObject({ allowed: true, surface: "feed", units: null, cost: null, unit: "event" });
  });

  it("answers the problem the real request would get", async () => {
    expect((await quote(key, { method: "GET", path: "/closed" })).body).toMatchObject({
      allowed: false,
      surface: "closed",
      rule: "prohibited",
      cost: "0",
      problem: { type: "urn:tollgate:problem:surface-prohibited", status: 403 },
    });
    expect((await quote(key, { method: "GET", path: "/nowhere" })).body).toMatchObject({ allowed: false, surface: null, problem: { type: "urn:tollgate:problem:no-surface" } });
    expect((await quote(key, { method: "POST", path: "/items", body: { items: "no" } })).body).toMatchObject({ allowed: false, problem: { type: "urn:tollgate:problem:invalid-request" } });
  });

  it("consumes no tokens, quota or concurrency", async () => {
    const before = await adminOk("GET", "/tenants/quoter/limits");
    for (let i = 0; i < 3; i++) expect((await quote(key, { method: "GET", path: "/once" })).body.allowed).toBe(true);
    for (let i = 0; i < 3; i++) await quote(key, { method: "POST", path: "/items", body: { items: [1, 2, 3] } });
    expect(await adminOk("GET", "/tenants/quoter/limits")).toEqual(before);
    const real = await call(key, "/once");
    await real.arrayBuffer();
    expect(real.status).toBe(200);
    const after = await quote(key, { method: "GET", path: "/once" });
    expect(after.body).toMatchObject({ allowed: false, problem: { type: "urn:tollgate:problem:rate-limited", "violated-policies": ["rate"] } });
  });

  it("knows a retry with a completed Idempotency-Key would be a free replay", async () => {
    const described = { method: "POST", path: "/items", headers: { "Idempotency-Key": "done-key" }, body: { items: [1] } };
    const res = await call(key, "/items", { method: "POST", headers: { "Idempotency-Key": "done-key" }, body: JSON.stringify({ items: [1] }) });
    await res.arrayBuffer();
    expect((await quote(key, described)).body).toMatchObject({ allowed: true, units: 0, cost: "0", replay: true });
    expect((await quote(key, { ...described, body: { items: [2] } })).body).toMatchObject({ allowed: false, problem: { type: "urn:tollgate:problem:idempotency-key-reused" } });
  });

  it("needs a valid tenant key and a valid description", async () => {
    await expectProblem(await send("/_tollgate/quote", { method: "POST", body: "{}" }), 401, "unauthenticated");
    const res = await call(key, "/_tollgate/quote", { method: "POST", body: JSON.stringify({ method: "GET" }), headers: { "Content-Type": "application/json" } });
    await expectProblem(res, 400, "invalid-request");
  });
});

describe("quote = charge (property)", () => {
  const money = fc.integer({ min: 0, max: 2_000_000 }).map(formatMoney);
  const multiplier = fc.oneof(fc.constantFrom(0.1, 0.5, 0.9, 1, 1.2, 0.333333), fc.integer({ min: 0, max: 2_000_000 }).map((n) => n / 1_000_000));
  const scenario = fc.record({
    unit: money,
    overagePrice: fc.option(money, { nil: undefined }),
    quota: fc.option(fc.record({ limit: fc.integer({ min: 0, max: 40 }), overage: fc.constantFrom("block" as const, "bill" as const) }), { nil: undefined }),
    idemMultiplier: fc.option(multiplier, { nil: undefined }),
    batch: fc.option(fc.record({ minUnits: fc.integer({ min: 1, max: 20 }), multiplier }), { nil: undefined }),
    used: fc.integer({ min: 0, max: 30 }),
    units: fc.integer({ min: 0, max: 30 }),
    withKey: fc.boolean(),
  });

  it("for random catalogs and requests, the quote equals what the request is charged", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        run++;
        // Each run replaces the file's catalog, stranding the tenants of the last one on purpose.
        await loadCatalog({
          currency: "USD",
          surfaces: { items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "/items" } } } },
          plans: {
            gen: {
              surfaces: {
                items: {
                  rule: "metered",
                  price: { unit: s.unit, ...(s.overagePrice !== undefined && { overage: s.overagePrice }) },
                  ...(s.quota && { quota: { ...s.quota, period: "month" as const } }),
                },
              },
              incentives: { ...(s.idemMultiplier !== undefined && { "idempotency-key": s.idemMultiplier }), ...(s.batch && { batch: s.batch }) },
            },
          },
        }, { force: true });
        const { key: k } = await tenantWithKey({ id: `prop-${run}-${crypto.randomUUID().slice(0, 8)}`, plan: "gen" });
        if (s.used > 0) {
          const pre = await call(k, "/items", { method: "POST", body: JSON.stringify({ items: Array.from({ length: s.used }, () => 0) }) });
          await pre.arrayBuffer();
        }
        const items = Array.from({ length: s.units }, (_, i) => i);
        const headers: Record<string, string> = s.withKey ? { "Idempotency-Key": `k-${run}` } : {};
        const q = (await quote(k, { method: "POST", path: "/items", headers, body: { items } })).body;
        const real = await call(k, "/items", { method: "POST", headers, body: JSON.stringify({ items }) });
        const realBody = await real.text();
        if (q.allowed) {
          expect(real.status, realBody).toBe(200);
          expect({ units: real.headers.get("Tollgate-Units"), cost: real.headers.get("Tollgate-Cost"), incentives: real.headers.get("Tollgate-Incentives") }).toEqual({
            units: String(q.units),
            cost: q.cost,
            incentives: q.incentives.length > 0 ? q.incentives.join(", ") : null,
          });
        } else {
          expect(real.status).toBe(q.problem!.status);
          expect(JSON.parse(realBody).type).toBe(q.problem!.type);
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000); // 40 runs of real requests: seconds on a loaded machine (CI once took over 5 s)
});
