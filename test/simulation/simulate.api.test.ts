// POST /_tollgate/admin/catalog/simulate (CONTRACT §8): the retained per-request rows re-priced under
// a candidate catalog. Simulating the current catalog itself reproduces what was recorded exactly.
import { beforeAll, describe, expect, it } from "vitest";
import type { CatalogInput } from "../../src/catalog/schema";
import { admin, adminOk, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

const catalog = {
  currency: "USD",
  surfaces: {
    items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } },
    feed: { routes: ["GET /v1/events"] },
    keyed: { routes: ["POST /keyed"] },
    bulk: { routes: ["POST /bulk"] },
    prem: { routes: ["GET /prem"] },
    capped: { routes: ["GET /capped"] },
    billed: { routes: ["GET /billed"] },
    rated: { routes: ["GET /rated"] },
    shadowed: { routes: ["GET /shadowed"] },
  },
  plans: {
    p: {
      surfaces: {
        items: { rule: "metered", price: { unit: "0.01" }, quota: { limit: 100, period: "day", overage: "bill" } },
        feed: { rule: "metered", price: { unit: "0.02" } },
        keyed: { rule: "metered", price: { unit: "0.03" } },
        bulk: { rule: "prohibited" },
        prem: { rule: "premium", price: { unit: "0.05" } },
        capped: { rule: "metered", price: { unit: "0.002" }, quota: { limit: 3, period: "day", overage: "block" } },
        billed: { rule: "metered", price: { unit: "0.004", overage: "0.006" }, quota: { limit: 2, period: "month", overage: "bill" } },
        rated: { rule: "metered", price: { unit: "0.008" }, rate: { limit: 2, window: 3600 } },
        shadowed: { rule: "metered", price: { unit: "0.003" }, rate: { limit: 1, window: 3600 }, quota: { limit: 2, period: "day" }, enforce: "shadow" },
      },
      incentives: { "idempotency-key": 0.9, batch: { minUnits: 3, multiplier: 0.5 }, conditional: 0.1 },
    },
    partnered: { surfaces: { keyed: { rule: "metered", price: { unit: "0.07" } } }, incentives: { "idempotency-key": 0.8 } },
    legacy: { surfaces: { feed: { rule: "metered", price: { unit: "0.02" } } } },
  },
} satisfies CatalogInput;

type Answer = {
  from: string;
  to: string;
  items: { tenant: string; surface: string; current: { cost: string; refusals: number }; candidate: { cost: string; refusals: number }; delta: string }[];
  totals: { current: string; candidate: string; delta: string };
  stranded: { tenant: string; reasons: { path: string; message: string }[] }[];
  changes: { op: string; path: string }[];
  notes: string[];
};

const TENANTS = ["sim-a", "sim-b", "sim-c", "sim-partner"];
const simulateWith = (candidate: unknown) => adminOk<Answer>("POST", "/catalog/simulate", { catalog: candidate, tenants: TENANTS });
const micros = (money: string) => Math.round(Number(money) * 1e6);
/** Cost answered to clients, by tenant and surface (micro-units), and refusals (status 403/429). */
const answered = new Map<string, { cost: number; refusals: number }>();

async function traffic(key: string, tenant: string, path: string, init: RequestInit = {}) {
  const res = await call(key, path, init);
  await res.arrayBuffer();
  const surface = res.headers.get("Tollgate-Surface")!;
  const id = `${tenant} ${surface}`;
  const a = answered.get(id) ?? { cost: 0, refusals: 0 };
  if (res.status < 500) a.cost += micros(res.headers.get("Tollgate-Cost") ?? "0");
  if (res.status === 403 || res.status === 429) a.refusals++;
  answered.set(id, a);
  return res;
}

beforeAll(async () => {
  await loadCatalog(catalog);
  const a = (await tenantWithKey({ id: "sim-a", plan: "p", addons: ["prem"] })).key;
  const b = (await tenantWithKey({ id: "sim-b", plan: "p", overrides: { keyed: { price: { unit: "0.011" } } } })).key;
  const c = (await tenantWithKey({ id: "sim-c", plan: "legacy" })).key;
  const partner = (await tenantWithKey({ id: "sim-partner", plan: "partnered", kind: "partner" })).key;
  await adminOk("POST", "/grants", { partner: "sim-partner", customer: "sim-a", surfaces: ["keyed"], payer: "partner" }, 201);

  for (const [key, t] of [[a, "sim-a"], [b, "sim-b"]] as const) {
    const post = (path: string, body: string, headers: Record<string, string> = {}) => traffic(key, t, path, { method: "POST", body, headers: { "Content-Type": "application/json", ...headers } });
    await post("/items", "[1]");
    await post("/items", "[1,2,3]");
    await post("/items", "[1,2,3,4,5]", { "Idempotency-Key": `${t}-k1` });
    await post("/items", "[1,2,3,4,5]", { "Idempotency-Key": `${t}-k1` }); // replayed
    await post("/items", "[1,2]", { "Idempotency-Key": `${t}-k2` });
    await post("/items?status=503", "[1,2]"); // failed
    await post("/keyed", "{}", { "Idempotency-Key": `${t}-k3` });
    await post("/keyed", "{}");
    await post("/bulk", "{}"); // prohibited
    await traffic(key, t, "/prem"); // a: premium add-on; b: premium-required
    await traffic(key, t, "/v1/events", { headers: { "If-None-Match": '"events-3"' } }); // 304: conditional
    await traffic(key, t, "/v1/events");
    for (let i = 0; i < 5; i++) await traffic(key, t, "/capped"); // 3 then quota-exhausted
    for (let i = 0; i < 4; i++) await traffic(key, t, "/billed"); // 2 at the unit price, 2 at the overage price
    for (let i = 0; i < 4; i++) await traffic(key, t, "/rated"); // 2 then rate-limited
    for (let i = 0; i < 3; i++) await traffic(key, t, "/shadowed"); // shadow: every one admitted and charged
  }
  await traffic(c, "sim-c", "/v1/events");
  await traffic(c, "sim-c", "/v1/events");
  // The partner pays for its calls on behalf of sim-a: priced with its own plan (and incentive).
  for (const headers of [{ "Idempotency-Key": "p-1" }, {}] as Record<string, string>[]) {
    const res = await call(partner, "/keyed", { method: "POST", body: "{}", headers: { "Tollgate-On-Behalf-Of": "sim-a", ...headers } });
    expect(res.headers.get("Tollgate-Payer")).toBe("sim-partner");
    await res.arrayBuffer();
    const a = answered.get("sim-a keyed")!;
    a.cost += micros(res.headers.get("Tollgate-Cost")!);
  }
});

describe("catalog simulation", () => {
  it("simulating the current catalog gives what was recorded: zero delta and equal refusals for every tenant and surface", async () => {
    const sim = await simulateWith(catalog);
    expect(sim.items.length).toBeGreaterThanOrEqual(19);
    for (const item of sim.items) {
      expect(item.candidate, `${item.tenant} ${item.surface}`).toEqual(item.current);
      expect(item.delta).toBe("0");
      // "current" is what the clients were answered.
      const a = answered.get(`${item.tenant} ${item.surface}`)!;
      expect({ cost: micros(item.current.cost), refusals: item.current.refusals }, `${item.tenant} ${item.surface}`).toEqual(a);
    }
    expect(sim.totals.delta).toBe("0");
    expect(sim.totals.candidate).toBe(sim.totals.current);
    expect(sim.changes).toEqual([]);
    expect(sim.stranded).toEqual([]);
    const refusals = Object.fromEntries(sim.items.filter((i) => i.tenant === "sim-b").map((i) => [i.surface, i.current.refusals]));
    expect(refusals).toMatchObject({ bulk: 1, prem: 1, capped: 2, rated: 2, items: 0, shadowed: 0 });
  });

  it("a candidate that doubles every price doubles every cost: delta equals the current cost, exactly", async () => {
    const doubled = structuredClone(catalog) as CatalogInput;
    for (const plan of Object.values(doubled.plans)) {
      for (const entry of Object.values(plan.surfaces)) {
        if (entry.price) entry.price = { ...entry.price, unit: String(Number(entry.price.unit) * 2), ...(entry.price.overage && { overage: String(Number(entry.price.overage) * 2) }) };
      }
    }
    const sim = await simulateWith(doubled);
    for (const item of sim.items) {
      // sim-b's keyed override keeps its own price: its delta is only the partner-free part.
      if (item.tenant === "sim-b" && item.surface === "keyed") {
        expect(item.delta).toBe("0");
        continue;
      }
      expect(item.delta, `${item.tenant} ${item.surface}`).toBe(item.current.cost);
      expect(item.candidate.refusals).toBe(item.current.refusals);
    }
    expect(micros(sim.totals.delta)).toBeGreaterThan(0);
    expect(sim.changes.some((c) => c.path === "/plans/p/surfaces/items/price")).toBe(true);
  });

  it("a candidate that prohibits a surface and drops a plan moves the refusals and lists the stranded tenants", async () => {
    const candidate = structuredClone(catalog) as CatalogInput;
    candidate.plans.p!.surfaces.feed = { rule: "prohibited" };
    delete (candidate.plans as Record<string, unknown>).legacy;
    const sim = await simulateWith(candidate);
    const item = (tenant: string, surface: string) => sim.items.find((i) => i.tenant === tenant && i.surface === surface)!;
    for (const t of ["sim-a", "sim-b"]) {
      expect(item(t, "feed").current.refusals).toBe(0);
      expect(item(t, "feed").candidate).toEqual({ cost: "0", refusals: 2 });
      expect(item(t, "feed").delta).toBe(`-${item(t, "feed").current.cost}`);
      expect(item(t, "capped").candidate).toEqual(item(t, "capped").current);
    }
    expect(item("sim-c", "feed").candidate).toEqual({ cost: "0", refusals: 2 });
    expect(sim.stranded).toEqual([{ tenant: "sim-c", reasons: [{ path: "/plan", message: 'plan "legacy" is not in the catalog' }] }]);
  });

  it("enforcing a shadow rule: the requests it reported are the refusals it would make", async () => {
    const candidate = structuredClone(catalog) as CatalogInput;
    delete candidate.plans.p!.surfaces.shadowed!.enforce;
    const sim = await simulateWith(candidate);
    const item = sim.items.find((i) => i.tenant === "sim-a" && i.surface === "shadowed")!;
    expect(item.current).toEqual({ cost: "0.009", refusals: 0 });
    expect(item.candidate).toEqual({ cost: "0.003", refusals: 2 });
    const rollups = await adminOk<{ surface: string; shadowRefusals?: number }[]>("GET", "/usage?tenant=sim-a&surface=shadowed&granularity=month");
    expect(rollups.reduce((n, r) => n + (r.shadowRefusals ?? 0), 0)).toBe(2);
  });

  it("a looser candidate admits what was refused: request-counted units are charged", async () => {
    const candidate = structuredClone(catalog) as CatalogInput;
    candidate.plans.p!.surfaces.capped = { rule: "metered", price: { unit: "0.002" } };
    candidate.plans.p!.surfaces.bulk = { rule: "metered", price: { unit: "1" } };
    const sim = await simulateWith(candidate);
    const capped = sim.items.find((i) => i.tenant === "sim-a" && i.surface === "capped")!;
    expect(capped.candidate).toEqual({ cost: "0.01", refusals: 0 });
    expect(capped.delta).toBe("0.004");
    const bulk = sim.items.find((i) => i.tenant === "sim-a" && i.surface === "bulk")!;
    expect(bulk.candidate).toEqual({ cost: "1", refusals: 0 });
  });

  it("an invalid candidate is a 400 with every issue", async () => {
    const res = await admin("POST", "/catalog/simulate", { catalog: { currency: "usd", surfaces: {}, plans: { x: { surfaces: { nope: { rule: "metered" } } } } } });
    const body = await expectProblem(res, 400, "invalid-request");
    const paths = (body.errors as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["/catalog/currency", "/catalog/plans/x/surfaces/nope", "/catalog/plans/x/surfaces/nope/price"]));
    await expectProblem(await admin("POST", "/catalog/simulate", { catalog, tenants: "sim-a" }), 400, "invalid-request");
  });

  it("changes nothing: the catalog version stays", async () => {
    const before = await adminOk<{ version: number }>("GET", "/catalog");
    await simulateWith({ ...catalog, plans: { p: catalog.plans.p } });
    expect((await adminOk<{ version: number }>("GET", "/catalog")).version).toBe(before.version);
  });
});
