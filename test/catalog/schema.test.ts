import { describe, expect, it } from "vitest";
import { parseCatalog } from "../../src/catalog/schema";
import { basicCatalog } from "../support/catalogs";

describe("catalog validation", () => {
  it("accepts the contract's example and fills defaults", () => {
    const r = parseCatalog(basicCatalog);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.catalog.surfaces["bulk.export"]!.meter.count).toEqual({ from: "request" });
    expect(r.catalog.plans.free!.surfaces["events.feed"]!.quota!.overage).toBe("block");
  });

  it("reports every problem of a bad catalog together", () => {
    const bad = {
      currency: "usd",
      surfaces: {
        a: { routes: ["GET /a", "GET /shared/:id"] },
        b: { routes: ["GET /shared/:other", "FETCH/nope"] },
      },
      plans: {
        p: {
          surfaces: {
            a: { rule: "metered" },
            b: { rule: "premium", price: { unit: "-1" } },
            ghost: { rule: "included" },
            c: { rule: "sometimes" },
          },
        },
      },
    };
    const r = parseCatalog(bad);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byPath = Object.fromEntries(r.errors.map((e) => [e.path, e.message]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        "/currency",
        "/surfaces/b/routes/0", // duplicate of a's route
        "/surfaces/b/routes/1", // malformed
        "/plans/p/surfaces/a/price", // metered without price
        "/plans/p/surfaces/b/price/unit", // negative price
        "/plans/p/surfaces/ghost", // unknown surface
        "/plans/p/surfaces/c", // unknown surface …
        "/plans/p/surfaces/c/rule", // … with an unknown rule
      ].sort(),
    );
    expect(byPath["/surfaces/b/routes/0"]).toContain('already claimed by surface "a"');
  });

  it("rejects malformed money and unknown fields", () => {
    for (const unit of ["1.1234567", "01", ".5", "1e-3", "abc", ""]) {
      const r = parseCatalog({ ...basicCatalog, plans: { x: { surfaces: { echo: { rule: "metered", price: { unit } } } } } });
      expect(r.ok, unit).toBe(false);
    }
    const r = parseCatalog({ ...basicCatalog, extra: true });
    expect(r.ok).toBe(false);
  });

  it("refuses a meter unit with control characters (it could not travel in RateLimit-Policy), accepts any other", () => {
    const withUnit = (unit: string) => parseCatalog({ ...basicCatalog, surfaces: { ...basicCatalog.surfaces, echo: { routes: ["* /echo/*"], meter: { unit } } } });
    for (const unit of ["tab\there", "line\nbreak", "del\u007f"]) {
      const r = withUnit(unit);
      expect(r.ok, JSON.stringify(unit)).toBe(false);
      if (!r.ok) expect(r.errors).toContainEqual({ path: "/surfaces/echo/meter/unit", message: "must not contain control characters" });
    }
    for (const unit of ["événement", "件", "request"]) expect(withUnit(unit).ok, unit).toBe(true);
  });
});

describe("route methods", () => {
  const withRoute = (route: string) =>
    parseCatalog({ currency: "USD", surfaces: { s: { routes: [route] } }, plans: { p: { surfaces: { s: { rule: "included" } } } } });

  it("accepts the HTTP methods a gateway forwards, and * for any", () => {
    for (const m of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY", "*"]) expect(withRoute(`${m} /x`).ok, m).toBe(true);
  });

  it("refuses an unknown or lower-case method, saying which and what to write", () => {
    const typo = withRoute("GTE /x");
    expect(typo).toEqual({ ok: false, errors: [{ path: "/surfaces/s/routes/0", message: 'route "GTE /x" has an unknown method "GTE" (one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, QUERY, or * for any)' }] });
    const lower = withRoute("get /x");
    expect(lower.ok ? [] : lower.errors.map((e) => e.message)).toEqual(['route "get /x" has an unknown method "get" (methods are written in upper case: "GET")']);
    expect(withRoute("CONNECT /x").ok).toBe(false);
  });
});
