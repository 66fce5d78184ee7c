// The one catalog diff (CONTRACT §9) and the tenants a catalog would strand.
import { describe, expect, it } from "vitest";
import { describeChange, diffCatalogs, strandedTenants } from "../../src/catalog/diff";
import { parseCatalog, type Catalog, type CatalogInput } from "../../src/catalog/schema";
import { basicCatalog } from "../support/catalogs";

const parsed = (input: CatalogInput): Catalog => {
  const r = parseCatalog(input);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.catalog;
};
const base = parsed(basicCatalog);
const edited = (edit: (c: Catalog) => void): Catalog => {
  const c = structuredClone(base);
  edit(c);
  return c;
};

describe("diffCatalogs", () => {
  it("finds nothing between a catalog and itself, whatever its key order", () => {
    const reordered = JSON.parse(JSON.stringify(base, Object.keys(base).reverse())) as Catalog;
    expect(diffCatalogs(base, structuredClone(base))).toEqual([]);
    expect(diffCatalogs(base, { ...reordered, plans: base.plans, surfaces: base.surfaces })).toEqual([]);
  });

  it("names each changed term of a plan's surface with its before and after", () => {
    const after = edited((c) => {
      c.plans.free!.surfaces["records.write"]!.quota = { limit: 9000, period: "day", overage: "bill" };
      c.plans.free!.surfaces["records.write"]!.price = { unit: "0.002" };
      delete c.plans.free!.surfaces["events.feed"]!.rate;
    });
    expect(diffCatalogs(base, after)).toEqual([
      { op: "removed", subject: "rate", path: "/plans/free/surfaces/events.feed/rate", before: { limit: 10, window: 1 } },
      { op: "changed", subject: "price", path: "/plans/free/surfaces/records.write/price", before: { unit: "0.001" }, after: { unit: "0.002" } },
      { op: "changed", subject: "quota", path: "/plans/free/surfaces/records.write/quota", before: { limit: 5000, period: "day", overage: "block" }, after: { limit: 9000, period: "day", overage: "bill" } },
    ]);
  });

  it("reports surfaces, routes, plans and incentives added and removed", () => {
    const after = edited((c) => {
      delete c.surfaces.echo;
      delete c.plans.free!.surfaces.echo;
      c.surfaces["events.feed"]!.routes = ["GET /v1/events", "GET /v2/events"];
      c.plans.pro = { surfaces: { "events.feed": { rule: "included" } }, incentives: {} };
      c.plans.free!.incentives = { conditional: 0.1 };
      c.currency = "EUR";
    });
    const changes = diffCatalogs(base, after);
    expect(changes.map((c) => `${c.op} ${c.subject} ${c.path}`)).toEqual([
      "changed currency /currency",
      "removed surface /surfaces/echo",
      "removed route /surfaces/events.feed/routes",
      "added route /surfaces/events.feed/routes",
      "removed plan-surface /plans/free/surfaces/echo",
      "added incentive /plans/free/incentives/conditional",
      "added plan /plans/pro",
    ]);
    expect(changes[2]).toMatchObject({ before: "GET /v1/events/:id" });
    expect(changes.map(describeChange)[1]).toBe("- surface /surfaces/echo");
  });

  it("treats everything as added when there was no catalog", () => {
    const changes = diffCatalogs(null, base);
    expect(changes.filter((c) => c.op !== "added")).toEqual([]);
    expect(changes.filter((c) => c.subject === "surface")).toHaveLength(Object.keys(base.surfaces).length);
  });
});

describe("strandedTenants", () => {
  const tenants = [
    { id: "fine", plan: "free", addons: ["sync.pull"], overrides: { "records.write": {} } },
    { id: "planless", plan: "gold", addons: [], overrides: {} },
    { id: "addon", plan: "free", addons: ["echo"], overrides: { echo: {} } },
  ];

  it("lists a tenant whose plan, add-on or override the catalog no longer has, with every reason", () => {
    const after = edited((c) => {
      delete c.surfaces.echo;
      delete c.plans.free!.surfaces.echo;
    });
    expect(strandedTenants(after, tenants)).toEqual([
      { tenant: "planless", reasons: [{ path: "/plan", message: 'plan "gold" is not in the catalog' }] },
      {
        tenant: "addon",
        reasons: [
          { path: "/addons/0", message: 'add-on surface "echo" is not in the catalog' },
          { path: "/overrides/echo", message: 'override of surface "echo", which is not in the catalog' },
        ],
      },
    ]);
  });

  it("strands nobody whose terms all still exist", () => {
    expect(strandedTenants(base, tenants.filter((t) => t.id !== "planless"))).toEqual([]);
  });
});
