import { describe, expect, it } from "vitest";
import { compileRoutes } from "../../src/catalog/compile";

const surfaces = (routes: Record<string, string[]>) =>
  compileRoutes({ surfaces: Object.fromEntries(Object.entries(routes).map(([id, r]) => [id, { routes: r, meter: { unit: "request", count: { from: "request" } } }])) });

describe("route specificity (CONTRACT §2)", () => {
  const m = surfaces({
    literal: ["GET /v1/items/special"],
    param: ["GET /v1/items/:id"],
    rest: ["GET /v1/items/*"],
    anyMethodLiteral: ["* /v1/items/special"],
    post: ["POST /v1/items/:id"],
    anyParam: ["* /v1/items/:id/history"],
    deep: ["GET /v1/:kind/:id/history"],
    root: ["GET /"],
  });

  it("prefers a literal segment over a parameter over a rest wildcard", () => {
    expect(m.match("GET", "/v1/items/special")).toBe("literal");
    expect(m.match("GET", "/v1/items/42")).toBe("param");
    expect(m.match("GET", "/v1/items/42/more/deep")).toBe("rest");
  });

  it("prefers an explicit method over * at equal path specificity", () => {
    expect(m.match("DELETE", "/v1/items/special")).toBe("anyMethodLiteral");
    expect(m.match("POST", "/v1/items/7")).toBe("post");
  });

  it("ranks path specificity before method", () => {
    // "* /v1/items/:id/history" (literal items) beats "GET /v1/:kind/:id/history".
    expect(m.match("GET", "/v1/items/7/history")).toBe("anyParam");
    expect(m.match("GET", "/v1/orders/7/history")).toBe("deep");
  });

  it("backtracks from a dead-end literal to a parameter", () => {
    const b = surfaces({ a: ["GET /x/literal/end"], b: ["GET /x/:p/other"] });
    expect(b.match("GET", "/x/literal/other")).toBe("b");
  });

  it("matches nothing for an unknown path or method", () => {
    expect(m.match("PUT", "/v1/items/7")).toBeNull();
    expect(m.match("GET", "/v2/items")).toBeNull();
    expect(m.match("GET", "/")).toBe("root");
  });

  it("serves HEAD from GET routes", () => {
    expect(m.match("HEAD", "/v1/items/7")).toBe("param");
  });

  it("a final * needs at least one more segment", () => {
    const r = surfaces({ sync: ["GET /v1/sync/*"] });
    expect(r.match("GET", "/v1/sync/a/b")).toBe("sync");
    expect(r.match("GET", "/v1/sync/")).toBe("sync");
    expect(r.match("GET", "/v1/sync")).toBeNull();
  });
});
