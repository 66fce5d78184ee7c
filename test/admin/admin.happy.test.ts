import { beforeAll, describe, expect, it } from "vitest";
import { basicCatalog } from "../support/catalogs";
import { ManualClock, setLimiterClock } from "../support/clock";
import { admin, adminOk, call, expectProblem, loadCatalog, send, tenantWithKey } from "../support/http";

let v1: number;
beforeAll(async () => {
  v1 = await loadCatalog(basicCatalog);
});

describe("catalog versions", () => {
  it("keeps the version for an identical catalog (key order aside) and bumps it for a change", async () => {
    const reordered = { plans: basicCatalog.plans, surfaces: basicCatalog.surfaces, currency: "USD" };
    expect(await loadCatalog(reordered)).toBe(v1);
    const changed = { ...basicCatalog, currency: "EUR" };
    const v2 = await loadCatalog(changed);
    expect(v2).toBe(v1 + 1);
    const current = await adminOk<{ version: number; catalog: { currency: string } }>("GET", "/catalog");
    expect(current).toMatchObject({ version: v2, catalog: { currency: "EUR" } });
    const versions = await adminOk<{ version: number; createdAt: string }[]>("GET", "/catalog/versions");
    expect(versions.map((v) => v.version)).toEqual([v1, v2]);
    expect(Date.parse(versions[0]!.createdAt)).not.toBeNaN();
    expect(await loadCatalog(basicCatalog)).toBe(v2 + 1); // going back is a new version
  });

  it("a rejected catalog changes nothing", async () => {
    const before = await adminOk<{ version: number }>("GET", "/catalog");
    const res = await admin("PUT", "/catalog", { currency: "USD", surfaces: {}, plans: { p: { surfaces: { nope: { rule: "included" } } } } });
    expect(res.status).toBe(400);
    await res.arrayBuffer();
    expect((await adminOk<{ version: number }>("GET", "/catalog")).version).toBe(before.version);
  });

  it("a new route takes effect on the next request", async () => {
    const { key } = await tenantWithKey({ id: "routes", plan: "free" });
    const miss = await call(key, "/fresh");
    expect(miss.status).toBe(404);
    await miss.arrayBuffer();
    await loadCatalog({
      ...basicCatalog,
      surfaces: { ...basicCatalog.surfaces, fresh: { routes: ["GET /fresh"] } },
      plans: { free: { ...basicCatalog.plans.free, surfaces: { ...basicCatalog.plans.free.surfaces, fresh: { rule: "included" } } } },
    });
    const hit = await call(key, "/fresh");
    expect(hit.status).toBe(200);
    await hit.arrayBuffer();
    await loadCatalog(basicCatalog);
  });
});

describe("tenants", () => {
  it("create, read with effective limits, list with a cursor, patch and delete", async () => {
    const created = await adminOk<Record<string, unknown>>("POST", "/tenants", { id: "t-a", name: "A, \"Inc\"", kind: "partner", plan: "free", overrides: { echo: { concurrency: 3 } } }, 201);
    expect(created).toMatchObject({ id: "t-a", kind: "partner", plan: "free", status: "active", addons: [] });
    await adminOk("POST", "/tenants", { id: "t-b", kind: "customer", plan: "free" }, 201);
    await adminOk("POST", "/tenants", { id: "t-c", kind: "customer", plan: "free" }, 201);

    const one = await adminOk<{ surfaces: Record<string, { rule: string; concurrency?: number }> }>("GET", "/tenants/t-a");
    expect(Object.keys(one.surfaces).sort()).toEqual(["echo", "events.feed", "records.write"]);
    expect(one.surfaces.echo).toMatchObject({ rule: "metered", concurrency: 3 });

    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await adminOk<{ items: { id: string }[]; cursor?: string }>("GET", `/tenants?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      ids.push(...page.items.map((t) => t.id));
      cursor = page.cursor;
    } while (cursor);
    expect(ids.filter((id) => id.startsWith("t-"))).toEqual(["t-a", "t-b", "t-c"]);

    const patched = await adminOk<{ addons: string[]; name: string }>("PATCH", "/tenants/t-b", { addons: ["sync.pull"] });
    expect(patched.addons).toEqual(["sync.pull"]);
    await adminOk("DELETE", "/tenants/t-c", undefined, 204);
    expect((await admin("GET", "/tenants/t-c")).status).toBe(404);
  });

  it("two concurrent creates of one id: one 201, one 409, and the winner's terms stand", async () => {
    const [a, b] = await Promise.all([
      admin("POST", "/tenants", { id: "t-race", kind: "customer", plan: "free", addons: [] }),
      admin("POST", "/tenants", { id: "t-race", kind: "customer", plan: "free", addons: ["sync.pull"] }),
    ]);
    const answers = [{ res: a, addons: [] as string[] }, { res: b, addons: ["sync.pull"] }];
    expect(answers.map((x) => x.res.status).sort()).toEqual([201, 409]);
    const winner = answers.find((x) => x.res.status === 201)!;
    await Promise.all(answers.map((x) => x.res.arrayBuffer()));
    const { key } = await adminOk<{ key: string }>("POST", "/tenants/t-race/keys", {}, 201);
    const res = await call(key, "/v1/sync/x?bytes=5");
    await res.arrayBuffer();
    // The limiter enforces exactly the terms D1 holds: premium only if the winner had the add-on.
    expect(res.status).toBe(winner.addons.includes("sync.pull") ? 200 : 403);
    expect((await adminOk<{ addons: string[] }>("GET", "/tenants/t-race")).addons).toEqual(winner.addons);
  });

  it("refuses plans, add-ons and overrides the catalog does not have", async () => {
    const res = await admin("POST", "/tenants", { id: "t-x", kind: "customer", plan: "gold", addons: ["nope"], overrides: { ghost: {} } });
    const body = await res.json<{ errors: { path: string }[] }>();
    expect(res.status).toBe(400);
    expect(body.errors.map((e) => e.path).sort()).toEqual(["/addons/0", "/overrides/ghost", "/plan"]);
    expect((await admin("GET", "/tenants/t-x")).status).toBe(404);
  });

  it("plan, add-on and override changes take effect on the next request", async () => {
    const { key } = await tenantWithKey({ id: "t-live", plan: "free" });
    const premium = await call(key, "/v1/sync/file?bytes=10");
    expect(premium.status).toBe(403);
    await premium.arrayBuffer();
    await adminOk("PATCH", "/tenants/t-live", { addons: ["sync.pull"] });
    const allowed = await call(key, "/v1/sync/file?bytes=10");
    expect(allowed.status).toBe(200);
    await allowed.arrayBuffer();

    await adminOk("PATCH", "/tenants/t-live", { overrides: { echo: { rate: { limit: 1, window: 3600 } } } });
    const first = await call(key, "/echo/1");
    await first.arrayBuffer();
    const second = await call(key, "/echo/2");
    await second.arrayBuffer();
    expect([first.status, second.status]).toEqual([200, 429]);
    expect(first.headers.get("RateLimit-Policy")).toBe('"rate";q=1;w=3600');
  });
});

describe("keys", () => {
  it("shows the key once; lists never show it; revocation is recorded", async () => {
    await adminOk("POST", "/tenants", { id: "k-1", kind: "customer", plan: "free" }, 201);
    const created = await adminOk<{ id: string; key: string; prefix: string; createdAt: string }>("POST", "/tenants/k-1/keys", { name: "ci" }, 201);
    expect(created.key).toMatch(/^tg_[0-9A-Za-z]{40}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    const listed = await admin("GET", "/tenants/k-1/keys");
    const text = await listed.text();
    expect(text).not.toContain(created.key);
    expect(JSON.parse(text)).toEqual([{ id: created.id, prefix: created.prefix, name: "ci", createdAt: created.createdAt, expiresAt: null, revokedAt: null }]);
    await adminOk("DELETE", `/tenants/k-1/keys/${created.id}`, undefined, 204);
    const after = await adminOk<{ revokedAt: string | null }[]>("GET", "/tenants/k-1/keys");
    expect(after[0]!.revokedAt).not.toBeNull();
  });

  it("keys are random and distinct", async () => {
    await adminOk("POST", "/tenants", { id: "k-2", kind: "customer", plan: "free" }, 201);
    const keys = new Set<string>();
    for (let i = 0; i < 5; i++) keys.add((await adminOk<{ key: string }>("POST", "/tenants/k-2/keys", {}, 201)).key);
    expect(keys.size).toBe(5);
  });
});

describe("limits", () => {
  it("shows rate, quota and in-flight state, and resets them", async () => {
    const { key } = await tenantWithKey({ id: "l-1", plan: "free" });
    // A still clock: at 5 tokens/s the bucket would otherwise refill between the reads below.
    await setLimiterClock("l-1", new ManualClock(Date.now()));
    for (let i = 0; i < 3; i++) {
      const r = await call(key, "/v1/records", { method: "POST", body: JSON.stringify({ records: [1, 2] }) });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    type Limits = Record<string, { rate?: { limit: number; remaining: number; reset: number }; quota?: { limit: number; used: number; remaining: number; periodStart: string; periodEnd: string }; inFlight: number }>;
    const limits = await adminOk<Limits>("GET", "/tenants/l-1/limits");
    expect(limits["records.write"]!.quota).toMatchObject({ limit: 5000, used: 6, remaining: 4994 });
    expect(limits["records.write"]!.rate).toMatchObject({ limit: 10, remaining: 7 });
    expect(limits["records.write"]!.inFlight).toBe(0);
    const { periodStart, periodEnd } = limits["records.write"]!.quota!;
    expect(Date.parse(periodEnd) - Date.parse(periodStart)).toBe(86_400_000);

    await adminOk("POST", "/tenants/l-1/limits/reset", { surface: "records.write", what: "quota" }, 204);
    const afterQuota = await adminOk<Limits>("GET", "/tenants/l-1/limits");
    expect(afterQuota["records.write"]!.quota!.used).toBe(0);
    expect(afterQuota["records.write"]!.rate!.remaining).toBe(7);
    await adminOk("POST", "/tenants/l-1/limits/reset", { what: "all" }, 204);
    expect((await adminOk<Limits>("GET", "/tenants/l-1/limits"))["records.write"]!.rate!.remaining).toBe(10);
  });

  it("rejects an unknown surface or `what` and changes nothing", async () => {
    const { key } = await tenantWithKey({ id: "l-2", plan: "free" });
    // A still clock keeps the bucket from refilling, so any change below would be a reset.
    await setLimiterClock("l-2", new ManualClock(Date.now()));
    for (let i = 0; i < 3; i++) {
      const r = await call(key, "/v1/records", { method: "POST", body: JSON.stringify({ records: [1, 2] }) });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    const before = await adminOk<Record<string, { rate?: { remaining: number }; quota?: { used: number } }>>("GET", "/tenants/l-2/limits");
    expect(before["records.write"]).toMatchObject({ rate: { remaining: 7 }, quota: { used: 6 } });
    await expectProblem(await admin("POST", "/tenants/l-2/limits/reset", { surface: "nope", what: "all" }), 400, "invalid-request");
    await expectProblem(await admin("POST", "/tenants/l-2/limits/reset", { what: "everything" }), 400, "invalid-request");
    expect(await adminOk("GET", "/tenants/l-2/limits")).toEqual(before);
    expect(await adminOk("GET", "/audit?action=limits.reset&target=tenant:l-2")).toEqual([]);
  });
});

describe("public endpoints", () => {
  it("health, OpenAPI 3.1 of the admin API, and the docs page", async () => {
    // The catalog of this file is loaded, so every check passes (test/health.test.ts has the rest).
    expect(await (await send("/_tollgate/health")).json()).toMatchObject({ status: "ok" });
    const doc = await (await send("/_tollgate/openapi.json")).json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/_tollgate/admin/catalog", "/_tollgate/admin/tenants", "/_tollgate/admin/tenants/{id}", "/_tollgate/admin/tenants/{id}/keys", "/_tollgate/admin/tenants/{id}/keys/{keyId}", "/_tollgate/admin/tenants/{id}/limits", "/_tollgate/admin/tenants/{id}/limits/reset", "/_tollgate/admin/catalog/versions"]),
    );
    expect(Object.keys(doc.paths["/_tollgate/admin/catalog"]!).sort()).toEqual(["get", "put"]);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/_tollgate/quote", "/_tollgate/usage", "/_tollgate/admin/usage", "/_tollgate/admin/usage/export", "/_tollgate/admin/audit"]));
    const docs = await send("/_tollgate/docs");
    expect(docs.headers.get("content-type")).toContain("text/html");
    expect(await docs.text()).toContain("openapi.json");
  });
});
