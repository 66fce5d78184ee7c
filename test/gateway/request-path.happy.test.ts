import { describe, expect, it, beforeAll } from "vitest";
import { basicCatalog } from "../support/catalogs";
import { call, loadCatalog, tenantWithKey } from "../support/http";

let key: string;
beforeAll(async () => {
  await loadCatalog(basicCatalog);
  ({ key } = await tenantWithKey({ id: "happy", plan: "free", addons: ["sync.pull"] }));
});

describe("a request through the gateway", () => {
  it("is forwarded, charged and answered with the Tollgate headers", async () => {
    const res = await call(key, "/echo/hello?x=1");
    const body = await res.json<{ path: string; query: string }>();
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ path: "/echo/hello", query: "?x=1" });
    expect(res.headers.get("Tollgate-Surface")).toBe("echo");
    expect(res.headers.get("Tollgate-Units")).toBe("1");
    expect(res.headers.get("Tollgate-Cost")).toBe("0.01");
    expect(res.headers.get("Tollgate-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
