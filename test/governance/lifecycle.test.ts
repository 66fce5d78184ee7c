// Surface lifecycle (issue 12): Deprecation (RFC 9745), Sunset (RFC 8594) and Link after
// deprecatedAt; 410 surface-sunset after sunsetAt; and who still calls a surface.
import { beforeAll, describe, expect, it } from "vitest";
import { admin, adminOk, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

const DAY = 86_400_000;
const past = new Date(Date.now() - 10 * DAY);
const future = new Date(Date.now() + 30 * DAY);

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      old: { routes: ["GET /v1/old"], deprecatedAt: past.toISOString(), sunsetAt: future.toISOString(), link: "https://docs.example.com/migrate" },
      gone: { routes: ["GET /v1/gone"], deprecatedAt: new Date(Date.now() - 20 * DAY).toISOString(), sunsetAt: past.toISOString() },
      later: { routes: ["GET /v1/later"], deprecatedAt: future.toISOString() },
      current: { routes: ["GET /v1/current"] },
    },
    plans: { p: { surfaces: { old: { rule: "metered", price: { unit: "0.01" } }, gone: { rule: "metered", price: { unit: "0.01" } }, later: { rule: "included" }, current: { rule: "included" } } } },
  });
});

describe("surface lifecycle", () => {
  it("a deprecated surface answers with Deprecation, Sunset and Link, and is still served and charged", async () => {
    const { key } = await tenantWithKey({ id: "life-a", plan: "p" });
    const res = await call(key, "/v1/old");
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get("Deprecation")).toBe(`@${Math.floor(past.getTime() / 1000)}`);
    expect(res.headers.get("Sunset")).toBe(future.toUTCString());
    expect(res.headers.get("Link")).toBe('<https://docs.example.com/migrate>; rel="deprecation"');
    expect(res.headers.get("Tollgate-Cost")).toBe("0.01");
    for (const path of ["/v1/later", "/v1/current"]) {
      const fine = await call(key, path);
      await fine.arrayBuffer();
      expect([fine.status, fine.headers.get("Deprecation"), fine.headers.get("Sunset")], path).toEqual([200, null, null]);
    }
  });

  it("a surface past its sunset is 410 surface-sunset, not forwarded or charged, and counted as a refusal", async () => {
    const { key } = await tenantWithKey({ id: "life-b", plan: "p" });
    const res = await call(key, "/v1/gone");
    expect(res.headers.get("Deprecation")).not.toBeNull();
    expect(res.headers.get("Tollgate-Surface")).toBe("gone");
    await expectProblem(res, 410, "surface-sunset");
    const rows = await adminOk<{ surface: string; rejected: number; charged: number; refusals: Record<string, number> }[]>("GET", "/usage?tenant=life-b");
    expect(rows).toEqual([expect.objectContaining({ surface: "gone", rejected: 1, charged: 0, refusals: { "surface-sunset": 1 } })]);
  });

  it("lists who still calls a surface, by tenant and actor, most requests first", async () => {
    const a = await tenantWithKey({ id: "life-c1", plan: "p" });
    const b = await tenantWithKey({ id: "life-c2", plan: "p" });
    for (let i = 0; i < 3; i++) await (await call(a.key, "/v1/old")).arrayBuffer();
    await (await call(b.key, "/v1/old")).arrayBuffer();
    const answer = await adminOk<{ surface: string; items: { tenant: string; actor: string; requests: number; charged: number; lastSeen: string }[] }>("GET", "/surfaces/old/callers");
    const mine = answer.items.filter((c) => c.tenant.startsWith("life-c"));
    expect(mine.map((c) => [c.tenant, c.actor, c.requests, c.charged])).toEqual([
      ["life-c1", "life-c1", 3, 3],
      ["life-c2", "life-c2", 1, 1],
    ]);
    expect(Date.parse(mine[0]!.lastSeen)).toBeLessThanOrEqual(Date.now());
    const none = await adminOk<{ items: unknown[] }>("GET", `/surfaces/old/callers?from=${new Date(Date.now() + DAY).toISOString()}&to=${new Date(Date.now() + 2 * DAY).toISOString()}`);
    expect(none.items).toEqual([]);
    await expectProblem(await admin("GET", "/surfaces/old/callers?from=2026-02-01&to=2026-01-01"), 400, "invalid-request");
  });

  it("refuses a sunset before the deprecation, and a link that is not http(s)", async () => {
    const bad = await admin("PUT", "/catalog?dryRun=true", {
      currency: "USD",
      surfaces: { s: { routes: ["GET /s"], deprecatedAt: future.toISOString(), sunsetAt: past.toISOString(), link: "javascript:alert(1)" } },
      plans: { p: { surfaces: { s: { rule: "included" } } } },
    });
    const p = await expectProblem(bad, 400, "invalid-request");
    expect((p.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(["/surfaces/s/link", "/surfaces/s/sunsetAt"]);
  });
});
