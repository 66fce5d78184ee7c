// CONTRACT §6 settlement rules, with the faults that need them: a Worker that dies after
// admission, a settle the limiter never receives, a settle that arrives after the lease. And
// refusals before admission, which must cost no durable write each and are themselves limited.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../support/clock";
import { Catalog, type CatalogInput } from "../../src/catalog/schema";
import { surfaceTerms } from "../../src/limiter/policy";
import type { HeldAdmission } from "../../src/limiter/protocol";
import { REFUSAL_RATE, type TenantLimiter } from "../../src/limiter/tenant-limiter";
import type { RollupRow } from "../../src/metering/usage-rows";
import { sendWith } from "../support/faults";
import { adminOk, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

const catalog = {
  currency: "USD",
  surfaces: {
    items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } },
    feed: { routes: ["GET /v1/events"], meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } } },
    single: { routes: ["GET /single/*"] },
  },
  plans: {
    p: {
      surfaces: {
        items: { rule: "metered", price: { unit: "0.002" }, quota: { limit: 100, period: "month" }, concurrency: 5 },
        feed: { rule: "metered", price: { unit: "0.01" }, quota: { limit: 100, period: "month" } },
        single: { rule: "metered", price: { unit: "0.5" }, concurrency: 1 },
      },
      incentives: { "idempotency-key": 0.5 },
    },
  },
} satisfies CatalogInput;

const parsed = Catalog.parse(catalog);
const LEASE_MS = 60_000;

beforeAll(async () => {
  await loadCatalog(catalog);
});

const limiter = (tenant: string) => (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(tenant);

async function withClock(tenant: string): Promise<ManualClock> {
  const clock = new ManualClock(Date.now());
  await runInDurableObject(limiter(tenant), (instance: TenantLimiter) => {
    instance.clock = clock;
  });
  return clock;
}

async function usage(tenant: string): Promise<RollupRow[]> {
  return adminOk<RollupRow[]>("GET", `/usage?tenant=${tenant}&granularity=month`);
}

async function limits(tenant: string): Promise<Record<string, { inFlight: number; quota?: { used: number; remaining: number } }>> {
  return adminOk("GET", `/tenants/${tenant}/limits`);
}

/** An admission made as the Worker makes it, by a Worker that then dies. */
function admit(tenant: string, keyId: string, surface: "items" | "feed", units: number | null, idempotencyKey?: string) {
  return limiter(tenant).admit({
    requestId: crypto.randomUUID(),
    keyId,
    surface,
    terms: surfaceTerms(parsed, surface),
    units,
    idempotencyKey: idempotencyKey !== undefined,
    conditional: false,
    leaseMs: LEASE_MS,
    catalogVersion: 1,
    ...(idempotencyKey !== undefined && { idempotency: { key: idempotencyKey, fingerprint: "f" } }),
  });
}

describe("an admission never settled (the Worker died)", () => {
  it("is settled at the lease's end: request-known units charged as priced at admission, slot and key freed, counted unsettled", async () => {
    const { keyId } = await tenantWithKey({ id: "died", plan: "p" });
    const clock = await withClock("died");
    const admission = (await admit("died", keyId, "items", 7, "idem-1")) as HeldAdmission;
    expect(admission.kind).toBe("admitted");
    expect(admission.provisional).toMatchObject({ units: 7, cost: 7000, incentives: ["idempotency-key"] });
    expect((await limits("died")).items).toMatchObject({ inFlight: 1, quota: { used: 0, remaining: 93 } });
    // The key is taken while the admission is open...
    expect(await admit("died", keyId, "items", 7, "idem-1")).toMatchObject({ kind: "refused", code: "idempotency-key-in-use" });

    clock.advance(LEASE_MS - 1);
    expect(await runDurableObjectAlarm(limiter("died"))).toBe(true);
    expect((await limits("died")).items!.inFlight).toBe(1); // not before the lease ends
    clock.advance(1);
    await runDurableObjectAlarm(limiter("died"));
    expect((await limits("died")).items).toMatchObject({ inFlight: 0, quota: { used: 7, remaining: 93 } });
    // ...and free once it was settled.
    expect(await admit("died", keyId, "items", 1, "idem-1")).toMatchObject({ kind: "admitted" });
    const [row] = (await usage("died")).filter((r) => r.surface === "items");
    // Two requests: the one that died, and the retry refused while its key was taken.
    expect(row).toMatchObject({ requests: 2, rejected: 1, charged: 1, unsettled: 1, units: 7, cost: "0.007", savings: "0.007", incentives: { "idempotency-key": 1 } });
    await runDurableObjectAlarm(limiter("died"));
  });

  it("units measured from the response are charged as 0 at the lease's end; a settle that arrives later adds them once", async () => {
    const { keyId } = await tenantWithKey({ id: "late", plan: "p" });
    const clock = await withClock("late");
    const admission = (await admit("late", keyId, "feed", null)) as HeldAdmission;
    expect(admission.provisional).toBeNull();
    clock.advance(LEASE_MS);
    await runDurableObjectAlarm(limiter("late"));
    expect((await usage("late"))[0]).toMatchObject({ requests: 1, charged: 1, unsettled: 1, units: 0, cost: "0" });

    const settle = () => limiter("late").settle({ admissionId: admission.admissionId, status: 200, units: 12, signals: { idempotencyKey: false, notModified: false } });
    expect(await settle()).toMatchObject({ units: 12, cost: 120000 });
    expect(await settle()).toMatchObject({ units: 12, cost: 120000 }); // a retry changes nothing
    expect((await usage("late"))[0]).toMatchObject({ requests: 1, charged: 1, unsettled: 0, units: 12, cost: "0.12" });
    expect((await limits("late")).feed!.quota).toMatchObject({ used: 12 });
    await runDurableObjectAlarm(limiter("late"));
  });
});

/** The real limiter, except that `settle` never reaches it. */
const settleLost = {
  getByName: (name: string) => {
    const real = limiter(name);
    return new Proxy(real, {
      get: (target, prop) =>
        prop === "settle"
          ? () => Promise.reject(new Error("network connection lost"))
          : (...args: unknown[]) => (target as unknown as Record<string | symbol, (...a: unknown[]) => unknown>)[prop]!(...args),
    });
  },
} as unknown as Env["LIMITER"];

describe("a settle the limiter never receives", () => {
  it("the answer carries what the lease's end will charge, and the rollups then equal it, counted unsettled", async () => {
    const { key } = await tenantWithKey({ id: "lost-settle", plan: "p" });
    const clock = await withClock("lost-settle");
    const res = await sendWith({ LIMITER: settleLost }, "/items", { method: "POST", body: "[1,2,3]", headers: { Authorization: `Bearer ${key}`, "Idempotency-Key": "k" } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect({ units: res.headers.get("Tollgate-Units"), cost: res.headers.get("Tollgate-Cost") }).toEqual({ units: "3", cost: "0.003" });
    clock.advance(LEASE_MS);
    await runDurableObjectAlarm(limiter("lost-settle"));
    const [row] = await usage("lost-settle");
    expect(row).toMatchObject({ requests: 1, charged: 1, unsettled: 1, units: 3, cost: "0.003" });
    expect((await limits("lost-settle")).items!.inFlight).toBe(0);
    await runDurableObjectAlarm(limiter("lost-settle"));
  });
});

describe("a limiter that restarts", () => {
  it("asks for the surface's terms again, which the isolate sent only once, and admits as before", async () => {
    const { key } = await tenantWithKey({ id: "restarted", plan: "p" });
    const first = await call(key, "/items", { method: "POST", body: "[1]" });
    await first.arrayBuffer();
    expect(first.status).toBe(200);
    await evictDurableObject(limiter("restarted"));
    const again = await call(key, "/items", { method: "POST", body: "[1,2]" });
    await again.arrayBuffer();
    expect({ status: again.status, units: again.headers.get("Tollgate-Units") }).toEqual({ status: 200, units: "2" });
    expect((await adminOk<{ calls: { admit: number } }>("GET", "/tenants/restarted/limiter")).calls.admit).toBe(2); // the lean call, then the one with terms
  });
});

describe("refusals before admission", () => {
  it("a flood of no-surface requests writes no row each, is itself rate-limited, and is still counted exactly", async () => {
    const { key } = await tenantWithKey({ id: "flood", plan: "p" });
    await withClock("flood"); // a clock that does not move: no refill during the flood
    const events = () => runInDurableObject(limiter("flood"), (_: TenantLimiter, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM usage_events").one().n);
    const before = await events();
    const total = REFUSAL_RATE.burst + 30;
    const statuses: number[] = [];
    for (let i = 0; i < total; i++) {
      const res = await call(key, `/nowhere/${i}`);
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 404)).toHaveLength(REFUSAL_RATE.burst);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    const limited = await call(key, "/nowhere/again");
    const problem = await expectProblem(limited, 429, "rate-limited");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(problem.detail).toContain("refused");
    expect((await events()) - before).toBeLessThanOrEqual(2); // written in aggregate, not per request
    const rows = (await usage("flood")).filter((r) => r.surface === "(none)");
    expect(rows.reduce((n, r) => n + r.requests, 0)).toBe(total + 1);
    expect(rows.reduce((n, r) => n + r.rejected, 0)).toBe(total + 1);
    await runDurableObjectAlarm(limiter("flood"));
  });

  it("a revoked key is still told so on a path that matches no surface", async () => {
    const { key, keyId } = await tenantWithKey({ id: "flood-revoked", plan: "p" });
    await adminOk("DELETE", `/tenants/flood-revoked/keys/${keyId}`, undefined, 204);
    await expectProblem(await call(key, "/nowhere"), 401, "key-revoked");
  });
});
