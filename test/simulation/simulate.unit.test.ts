// The pure simulation core: replay of rate buckets, quota positions, concurrency, shadow rules,
// delegation pricing and unknown units, row by row.
import { describe, expect, it } from "vitest";
import { Catalog, type CatalogInput } from "../../src/catalog/schema";
import { simulate, type RequestRow, type SimTenant } from "../../src/simulation/simulate";

const T0 = Date.UTC(2026, 10, 24, 12);
const base = {
  currency: "USD",
  surfaces: {
    s: { routes: ["GET /s"] },
    batch: { routes: ["POST /b"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } },
  },
  plans: {
    p: {
      surfaces: {
        s: { rule: "metered", price: { unit: "0.01" }, rate: { limit: 2, window: 3600 } },
        batch: { rule: "metered", price: { unit: "0.01", overage: "0.02" }, quota: { limit: 3, period: "day", overage: "bill" } },
      },
      incentives: { "idempotency-key": 0.5 },
    },
    partner: { surfaces: { s: { rule: "metered", price: { unit: "0.1" } } } },
  },
} satisfies CatalogInput;

const catalogOf = (edit: (c: CatalogInput) => void = () => {}) => {
  const c = structuredClone(base) as CatalogInput;
  edit(c);
  return Catalog.parse(c);
};
const tenants = new Map<string, SimTenant>([
  ["t", { id: "t", plan: "p", addons: [], overrides: {} }],
  ["pa", { id: "pa", plan: "partner", addons: [], overrides: {} }],
]);
let n = 0;
const row = (r: Partial<RequestRow>): RequestRow => ({ tenant: "t", requestId: `r${n++}`, at: T0, surface: "s", actor: "t", payer: "t", outcome: "charged", status: 0, reason: null, units: 1, cost: 10_000, incentives: [], signals: 0, ...r });
const run = (candidate: ReturnType<typeof catalogOf>, rows: RequestRow[], quotaSeed?: () => number) =>
  simulate({ candidate, rows, tenants, from: T0 - 1, to: T0 + 86_400_000, ...(quotaSeed && { quotaSeed }) });

describe("simulate", () => {
  it("replays the rate bucket in order: a tighter rate refuses more, a looser one admits the refused", () => {
    const rows = [row({}), row({ at: T0 + 1 }), row({ at: T0 + 2, outcome: "rejected", status: 429, reason: "rate-limited", cost: 0, units: 0 })];
    expect(run(catalogOf(), rows).items[0]).toMatchObject({ current: { cost: "0.02", refusals: 1 }, candidate: { cost: "0.02", refusals: 1 }, delta: "0" });
    const tight = run(catalogOf((c) => (c.plans.p!.surfaces.s!.rate = { limit: 1, window: 3600 })), rows);
    expect(tight.items[0]).toMatchObject({ candidate: { cost: "0.01", refusals: 2 }, delta: "-0.01" });
    const loose = run(catalogOf((c) => delete c.plans.p!.surfaces.s!.rate), rows);
    expect(loose.items[0]).toMatchObject({ candidate: { cost: "0.03", refusals: 0 }, delta: "0.01" });
  });

  it("prices overage from the replayed quota position, seeded with the usage before the rows", () => {
    const rows = [row({ surface: "batch", units: 2, cost: 20_000 }), row({ surface: "batch", units: 2, cost: 30_000 })];
    expect(run(catalogOf(), rows).items[0]).toMatchObject({ candidate: { cost: "0.05" }, delta: "0" });
    // Two units used earlier in the day: 1 at the unit price, 3 at the overage price.
    expect(run(catalogOf(), rows, () => 2).items[0]).toMatchObject({ candidate: { cost: "0.07" } });
  });

  it("keeps refusals the catalog plays no part in, and replays, as they were", () => {
    const rows = [row({ outcome: "rejected", reason: "idempotency-key-reused", status: 422, cost: 0 }), row({ outcome: "replayed", cost: 0 })];
    const sim = run(catalogOf((c) => delete c.plans.p!.surfaces.s!.rate), rows);
    expect(sim.items[0]).toMatchObject({ current: { cost: "0", refusals: 1 }, candidate: { cost: "0", refusals: 1 } });
  });

  it("keeps a concurrency refusal while the candidate limits concurrency; admits it otherwise", () => {
    const rows = [row({ outcome: "rejected", reason: "concurrency-limited", status: 429, cost: 0, units: 0 })];
    expect(run(catalogOf((c) => (c.plans.p!.surfaces.s!.concurrency = 1)), rows).items[0]!.candidate).toEqual({ cost: "0", refusals: 1 });
    expect(run(catalogOf(), rows).items[0]!.candidate).toEqual({ cost: "0.01", refusals: 0 });
  });

  it("a shadow limit refuses nothing: the would-be refusal is charged, as the limiter charges it", () => {
    const rows = [row({}), row({}), row({ outcome: "rejected", reason: "rate-limited", status: 429, cost: 0, units: 0 })];
    const sim = run(catalogOf((c) => (c.plans.p!.surfaces.s!.enforce = "shadow")), rows);
    expect(sim.items[0]!.candidate).toEqual({ cost: "0.03", refusals: 0 });
  });

  it("counts a refused batch admitted by the candidate with 0 units, and says so", () => {
    const rows = [row({ surface: "batch", outcome: "rejected", reason: "surface-prohibited", status: 403, units: 0, cost: 0 })];
    const sim = run(catalogOf(), rows);
    expect(sim.items[0]!.candidate).toEqual({ cost: "0", refusals: 0 });
    expect(sim.notes.join(" ")).toMatch(/0 units/);
  });

  it("prices a partner-paid call with the partner's plan, and the incentive signals of the row", () => {
    const rows = [row({ actor: "pa", payer: "pa", cost: 100_000 }), row({ signals: 3, cost: 5_000 })];
    const sim = run(catalogOf((c) => delete c.plans.p!.surfaces.s!.rate), rows);
    expect(sim.items[0]).toMatchObject({ candidate: { cost: "0.105" }, delta: "0" });
    // The partner's plan stops allowing the surface: its call is refused.
    const gone = run(catalogOf((c) => (c.plans.partner!.surfaces.s = { rule: "prohibited" })), rows);
    expect(gone.items[0]!.candidate).toEqual({ cost: "0.005", refusals: 1 });
  });

  it("reports only rows inside the window, though earlier rows move the bucket", () => {
    const rows = [row({ at: T0 - 10 }), row({}), row({ at: T0 + 1, outcome: "rejected", reason: "rate-limited", status: 429, cost: 0, units: 0 })];
    const sim = run(catalogOf(), rows);
    expect(sim.items[0]).toMatchObject({ current: { cost: "0.01", refusals: 1 }, candidate: { cost: "0.01", refusals: 1 } });
    expect(sim.totals).toEqual({ current: "0.01", candidate: "0.01", delta: "0" });
  });
});
