// Refusals by problem code in every rollup row (CONTRACT §9 dashboard): they equal the problems
// the tenant was answered, for refusals in the limiter and for those counted before admission.
import { describe, expect, it } from "vitest";
import { basicCatalog } from "../support/catalogs";
import { adminOk, call, loadCatalog, tenantWithKey } from "../support/http";

type Row = { surface: string; granularity: string; rejected: number; refusals: Record<string, number> };

describe("refusals by code", () => {
  it("count each refusal under the code its problem carried, in hour, day and month rows", async () => {
    await loadCatalog({
      ...basicCatalog,
      plans: { free: { surfaces: { ...basicCatalog.plans.free.surfaces, echo: { rule: "metered", price: { unit: "0.01" }, rate: { limit: 2, window: 3600 } } } } },
    });
    const { key } = await tenantWithKey({ id: "refusals", plan: "free" });
    const answered: Record<string, number> = {};
    const send = async (path: string, init?: RequestInit) => {
      const res = await call(key, path, init);
      const body = await res.text();
      if (res.status >= 400) {
        const code = (JSON.parse(body) as { type: string }).type.replace("urn:tollgate:problem:", "");
        answered[code] = (answered[code] ?? 0) + 1;
      }
    };
    for (let i = 0; i < 5; i++) await send("/echo/x"); // 2 admitted, 3 rate-limited
    for (let i = 0; i < 2; i++) await send("/v1/exports", { method: "POST" }); // prohibited
    await send("/v1/sync/a"); // premium without the add-on
    await send("/nowhere"); // no-surface, counted before admission
    expect(answered).toEqual({ "rate-limited": 3, "surface-prohibited": 2, "premium-required": 1, "no-surface": 1 });

    for (const granularity of ["hour", "day", "month"]) {
      const rows = await adminOk<Row[]>("GET", `/usage?tenant=refusals&granularity=${granularity}`);
      const codes: Record<string, number> = {};
      for (const r of rows) {
        for (const [code, n] of Object.entries(r.refusals)) codes[code] = (codes[code] ?? 0) + n;
        expect(Object.values(r.refusals).reduce((a, b) => a + b, 0), `${r.surface} ${granularity}`).toBe(r.rejected);
      }
      expect(codes, granularity).toEqual(answered);
    }
    const echo = (await adminOk<Row[]>("GET", "/usage?tenant=refusals&granularity=day&surface=echo"))[0];
    expect(echo?.refusals).toEqual({ "rate-limited": 3 });
  });
});
