// Safe changes (CONTRACT §9): ETags and If-Match on tenants and the catalog, tenant PATCH as a
// JSON merge patch, and a catalog PUT that refuses to strand tenants unless forced or dry-run.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import { basicCatalog } from "../support/catalogs";
import { admin, adminOk, call, expectProblem, loadCatalog, send, tenantWithKey } from "../support/http";

const catalog = { ...basicCatalog, plans: { ...basicCatalog.plans, other: basicCatalog.plans.free } };

beforeAll(async () => {
  await loadCatalog(catalog);
});

const withHeaders = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
  send(`/_tollgate/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, ...(body !== undefined && { "Content-Type": "application/json" }), ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

async function etagOf(path: string): Promise<string> {
  const res = await admin("GET", path);
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  const tag = res.headers.get("ETag");
  expect(tag).toMatch(/^"[^"]+"$/);
  return tag!;
}

type TenantBody = { overrides: Record<string, Record<string, unknown>>; status: string; plan: string; name: string | null; addons: string[] };

describe("tenant ETag and If-Match", () => {
  it("changes the ETag on every write; a stale If-Match gets 412 and changes nothing", async () => {
    await tenantWithKey({ id: "etag-a", plan: "free" });
    const first = await etagOf("/tenants/etag-a");
    const ok = await withHeaders("PATCH", "/tenants/etag-a", { "If-Match": first }, { status: "suspended" });
    expect(ok.status, await ok.clone().text()).toBe(200);
    const second = ok.headers.get("ETag");
    expect(second).not.toBe(first);
    expect(await etagOf("/tenants/etag-a")).toBe(second);

    const stale = await withHeaders("PATCH", "/tenants/etag-a", { "If-Match": first }, { status: "active", plan: "other" });
    const p = await expectProblem(stale, 412, "precondition-failed");
    expect(p.detail).toContain(second!);
    const now = await adminOk<TenantBody>("GET", "/tenants/etag-a");
    expect(now.status).toBe("suspended");
    expect(now.plan).toBe("free");
    await expectProblem(await withHeaders("DELETE", "/tenants/etag-a", { "If-Match": first }), 412, "precondition-failed");
    await adminOk("GET", "/tenants/etag-a");
    // A weak tag never matches (strong comparison); "*" and a list naming the current tag do.
    await expectProblem(await withHeaders("PATCH", "/tenants/etag-a", { "If-Match": `W/${second}` }, { status: "active" }), 412, "precondition-failed");
    expect((await withHeaders("PATCH", "/tenants/etag-a", { "If-Match": `"x", ${second}` }, { status: "active" })).status).toBe(200);
    expect((await withHeaders("PATCH", "/tenants/etag-a", { "If-Match": "*" }, { name: "A" })).status).toBe(200);
    const res = await withHeaders("DELETE", "/tenants/etag-a", { "If-Match": await etagOf("/tenants/etag-a") });
    expect(res.status).toBe(204);
  });

  it("of two PATCHes sent with the same ETag at once, exactly one wins (repeated 10 times)", async () => {
    await tenantWithKey({ id: "etag-race", plan: "free" });
    for (let round = 0; round < 10; round++) {
      const tag = await etagOf("/tenants/etag-race");
      const [a, b] = await Promise.all([
        withHeaders("PATCH", "/tenants/etag-race", { "If-Match": tag }, { name: `a${round}` }),
        withHeaders("PATCH", "/tenants/etag-race", { "If-Match": tag }, { name: `b${round}` }),
      ]);
      const statuses = [a.status, b.status].sort();
      expect(statuses).toEqual([200, 412]);
      const winner = a.status === 200 ? `a${round}` : `b${round}`;
      await a.arrayBuffer();
      await b.arrayBuffer();
      expect((await adminOk<TenantBody>("GET", "/tenants/etag-race")).name).toBe(winner);
      // The limiter holds the winner's revision too.
      const limiter = (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName("etag-race");
      expect((await limiter.getTenant())?.revision).toBe(round + 1);
    }
  });

  it("a conditional DELETE racing a PATCH never deletes a revision it did not see", async () => {
    for (let i = 0; i < 8; i++) {
      const id = `etag-del-${i}`;
      await tenantWithKey({ id, plan: "free" });
      const tag = await etagOf(`/tenants/${id}`);
      const [p, d] = await Promise.all([
        withHeaders("PATCH", `/tenants/${id}`, { "If-Match": tag }, { name: "patched" }),
        withHeaders("DELETE", `/tenants/${id}`, { "If-Match": tag }),
      ]);
      await p.arrayBuffer();
      await d.arrayBuffer();
      // Both may not succeed: one saw the other's change.
      expect(p.status === 200 && d.status === 204).toBe(false);
      expect([200, 404, 412]).toContain(p.status);
      expect([204, 412]).toContain(d.status);
    }
  });
});

describe("PATCH as a JSON merge patch (RFC 7396)", () => {
  it("merges overrides per surface and per field; null removes a field or a surface", async () => {
    await tenantWithKey({
      id: "merge-a",
      plan: "free",
      overrides: { "records.write": { quota: { limit: 100, period: "day", overage: "bill" }, rate: { limit: 2, window: 1 } }, "events.feed": { concurrency: 3 } },
    });
    // A quota change leaves the rate override and the other surface alone (it used to replace the whole map).
    const res = await send("/_tollgate/admin/tenants/merge-a", {
      method: "PATCH",
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ overrides: { "records.write": { quota: { limit: 9000 } } } }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as TenantBody).overrides).toEqual({
      "records.write": { quota: { limit: 9000, period: "day", overage: "bill" }, rate: { limit: 2, window: 1 } },
      "events.feed": { concurrency: 3 },
    });
    const removed = await adminOk<TenantBody>("PATCH", "/tenants/merge-a", { overrides: { "records.write": { rate: null }, "events.feed": null } });
    expect(removed.overrides).toEqual({ "records.write": { quota: { limit: 9000, period: "day", overage: "bill" } } });
    const cleared = await adminOk<TenantBody>("PATCH", "/tenants/merge-a", { overrides: { "records.write": { quota: null } }, name: "Merge A" });
    expect(cleared.overrides).toEqual({});
    expect(cleared.name).toBe("Merge A");
    expect((await adminOk<TenantBody>("PATCH", "/tenants/merge-a", { name: null })).name).toBeNull();
    // The override took effect in the limiter: the rate override (2) is gone, the plan's bucket applies.
    const limits = await adminOk<Record<string, { rate?: { limit: number } }>>("GET", "/tenants/merge-a/limits");
    expect(limits["records.write"]?.rate?.limit).toBe(10); // the plan's bucket: burst 10
  });

  it("refuses a patch whose result is invalid, naming the path, and changes nothing", async () => {
    await tenantWithKey({ id: "merge-bad", plan: "free", overrides: { "records.write": { concurrency: 2 } } });
    const before = await etagOf("/tenants/merge-bad");
    const cases: [unknown, string][] = [
      [{ overrides: { "records.write": { quota: { limit: 5 } } } }, "/overrides/records.write/quota/period"],
      [{ overrides: { "records.write": { speed: 3 } } }, "/overrides/records.write"],
      [{ plan: null }, "/plan"],
      [{ colour: "red" }, ""],
      [{ overrides: { nowhere: { concurrency: 1 } } }, "/overrides/nowhere"],
      [{ plan: "gold" }, "/plan"],
    ];
    for (const [patch, path] of cases) {
      const res = await admin("PATCH", "/tenants/merge-bad", typeof patch === "string" ? patch : JSON.stringify(patch));
      const p = await expectProblem(res, 400, "invalid-request");
      expect((p.errors as { path: string }[]).map((e) => e.path), JSON.stringify(patch)).toContain(path);
    }
    await expectProblem(await admin("PATCH", "/tenants/merge-bad", "[1]"), 400, "invalid-request");
    expect(await etagOf("/tenants/merge-bad")).toBe(before);
    // A "__proto__" member (sent as text: in an object literal it would be the prototype) changes
    // no override and pollutes nothing.
    const proto = await admin("PATCH", "/tenants/merge-bad", '{"overrides": {"records.write": {"__proto__": {"concurrency": 9}}}}');
    expect([200, 400]).toContain(proto.status);
    await proto.arrayBuffer();
    expect((await adminOk<TenantBody>("GET", "/tenants/merge-bad")).overrides).toEqual({ "records.write": { concurrency: 2 } });
    expect(({} as Record<string, unknown>).concurrency).toBeUndefined();
  });

  it("loses no update when patches without If-Match race: each merges into what the last one wrote", async () => {
    await tenantWithKey({ id: "merge-race", plan: "free" });
    const surfaces = ["events.feed", "records.write", "bulk.export", "sync.pull", "echo"];
    const answers = await Promise.all(surfaces.map((s, i) => admin("PATCH", "/tenants/merge-race", { overrides: { [s]: { concurrency: i + 1 } } })));
    for (const a of answers) expect(a.status, await a.text()).toBe(200);
    const t = await adminOk<TenantBody>("GET", "/tenants/merge-race");
    expect(Object.fromEntries(Object.entries(t.overrides).map(([s, o]) => [s, o.concurrency]))).toEqual(Object.fromEntries(surfaces.map((s, i) => [s, i + 1])));
  });
});

describe("catalog ETag, dry run and stranded tenants", () => {
  const withoutEcho = () => {
    const c = JSON.parse(JSON.stringify(catalog)) as { currency: string; surfaces: Record<string, unknown>; plans: Record<string, { surfaces: Record<string, unknown> }> };
    delete c.surfaces.echo;
    for (const p of Object.values(c.plans)) delete p.surfaces.echo;
    return c;
  };

  it("a dry run answers the diff and the stranded tenants and changes nothing; a real PUT is refused with 409 until forced", async () => {
    const { key } = await tenantWithKey({ id: "strand-echo", plan: "free", addons: ["echo"] });
    await tenantWithKey({ id: "strand-other", plan: "other" });
    const tag = await etagOf("/catalog");
    const version = (await adminOk<{ version: number }>("GET", "/catalog")).version;
    const candidate = { ...withoutEcho(), plans: { free: withoutEcho().plans.free } };

    const dry = await adminOk<{ dryRun: boolean; version: number; changes: { op: string; path: string }[]; stranded: { tenant: string; reasons: { message: string }[] }[] }>("PUT", "/catalog?dryRun=true", candidate);
    expect(dry.dryRun).toBe(true);
    expect(dry.version).toBe(version);
    expect(dry.changes.map((c) => `${c.op} ${c.path}`)).toEqual(expect.arrayContaining(["removed /surfaces/echo", "removed /plans/other"]));
    const stranded = Object.fromEntries(dry.stranded.map((s) => [s.tenant, s.reasons.map((r) => r.message)]));
    expect(stranded["strand-echo"]).toEqual(['add-on surface "echo" is not in the catalog']);
    expect(stranded["strand-other"]).toEqual(['plan "other" is not in the catalog']);
    expect(await etagOf("/catalog")).toBe(tag);

    const refused = await admin("PUT", "/catalog", candidate);
    const p = await expectProblem(refused, 409, "catalog-strands-tenants");
    expect((p.stranded as { tenant: string }[]).map((s) => s.tenant)).toEqual(expect.arrayContaining(["strand-echo", "strand-other"]));
    expect(await etagOf("/catalog")).toBe(tag);
    expect((await call(key, "/echo/still")).status).toBe(200);

    const forced = await adminOk<{ version: number; stranded: unknown[] }>("PUT", "/catalog?force=true", candidate);
    expect(forced.version).toBe(version + 1);
    expect(forced.stranded.length).toBeGreaterThanOrEqual(2);
    // Put the shared catalog back (forced: the stranded tenants above are back on terms it has).
    await adminOk("PUT", "/catalog", catalog);
  });

  it("a PUT with a stale If-Match gets 412; of two PUTs sent with the same ETag at once, one wins", async () => {
    const tag = await etagOf("/catalog");
    const a = structuredClone(catalog);
    a.plans.free.surfaces.echo = { rule: "metered", price: { unit: "0.02" } };
    const b = structuredClone(catalog);
    b.plans.free.surfaces.echo = { rule: "metered", price: { unit: "0.03" } };
    const [ra, rb] = await Promise.all([withHeaders("PUT", "/catalog", { "If-Match": tag }, a), withHeaders("PUT", "/catalog", { "If-Match": tag }, b)]);
    expect([ra.status, rb.status].sort()).toEqual([200, 412]);
    await ra.arrayBuffer();
    await rb.arrayBuffer();
    await expectProblem(await withHeaders("PUT", "/catalog", { "If-Match": tag }, catalog), 412, "precondition-failed");
    const back = await withHeaders("PUT", "/catalog", { "If-Match": await etagOf("/catalog") }, catalog);
    expect(back.status, await back.text()).toBe(200);
  });

  it("answers any two versions' diff and each stored version", async () => {
    const before = (await adminOk<{ version: number }>("GET", "/catalog")).version;
    const edited = JSON.parse(JSON.stringify(catalog)) as typeof catalog; // (structuredClone keeps `other` the same object as `free`)
    edited.plans.free.surfaces["records.write"].price = { unit: "0.005" };
    const put = await adminOk<{ version: number; changes: { path: string; before: unknown; after: unknown }[] }>("PUT", "/catalog", edited);
    expect(put.changes).toEqual([{ op: "changed", subject: "price", path: "/plans/free/surfaces/records.write/price", before: { unit: "0.001" }, after: { unit: "0.005" } }]);
    const diff = await adminOk<{ from: number; to: number; changes: unknown[] }>("GET", "/catalog/diff");
    expect(diff).toEqual({ from: before, to: put.version, changes: put.changes });
    const back = await adminOk<{ from: number; changes: unknown[] }>("GET", `/catalog/diff?from=${put.version}&to=${before}`);
    expect(back.changes).toEqual([{ op: "changed", subject: "price", path: "/plans/free/surfaces/records.write/price", before: { unit: "0.005" }, after: { unit: "0.001" } }]);
    const stored = await adminOk<{ version: number; catalog: typeof edited }>("GET", `/catalog/versions/${put.version}`);
    expect(stored.catalog.plans.free.surfaces["records.write"].price).toEqual({ unit: "0.005" });
    await expectProblem(await admin("GET", "/catalog/versions/9999"), 404, "not-found");
    await expectProblem(await admin("GET", "/catalog/diff?from=9999"), 404, "not-found");
    await expectProblem(await admin("PUT", "/catalog?dryRun=yes", catalog), 400, "invalid-request");
    await adminOk("PUT", "/catalog", catalog);
  });
});

describe("tenant search", () => {
  it("finds tenants by a part of their id or name, case-insensitively, and treats % and _ literally", async () => {
    await adminOk("POST", "/tenants", { id: "search-acme", name: "Acme Rockets", kind: "customer", plan: "free" }, 201);
    await adminOk("POST", "/tenants", { id: "search-bolt", name: "Bolt_Works 100%", kind: "customer", plan: "free" }, 201);
    const ids = async (q: string) => (await adminOk<{ items: { id: string }[] }>("GET", `/tenants?q=${encodeURIComponent(q)}`)).items.map((t) => t.id);
    expect(await ids("rocket")).toEqual(["search-acme"]);
    expect(await ids("SEARCH-")).toEqual(["search-acme", "search-bolt"]);
    expect(await ids("_works")).toEqual(["search-bolt"]);
    expect(await ids("0%")).toEqual(["search-bolt"]);
    expect(await ids("%")).toEqual(["search-bolt"]);
  });
});
