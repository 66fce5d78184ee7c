// Leased admission (CONTRACT §6): permits pre-debited for the isolate, most requests with no
// limiter call, never over-admission, usage reported after the fact, unreported permits counted.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Catalog, type CatalogInput } from "../../src/catalog/schema";
import { forgetHoldings } from "../../src/gateway/leases";
import { surfaceTerms } from "../../src/limiter/policy";
import type { ChargedAdmission } from "../../src/limiter/protocol";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import { REPORT_GRACE_MS } from "../../src/limiter/leases";
import type { RollupRow } from "../../src/metering/usage-rows";
import { formatMoney, parseMoney } from "../../src/pricing/money";
import { ManualClock, setLimiterClock } from "../support/clock";
import { admin, adminOk, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

const catalog = {
  currency: "USD",
  surfaces: {
    leased: { routes: ["GET /leased/*"] },
    batch: { routes: ["POST /batch"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } },
    strict: { routes: ["GET /strict/*"] },
    steady: { routes: ["GET /steady/*"] },
  },
  plans: {
    p: {
      surfaces: {
        leased: { rule: "metered", price: { unit: "0.001" }, quota: { limit: 1000, period: "month" }, admission: "leased", lease: { permits: 100, seconds: 0.3 } },
        batch: { rule: "metered", price: { unit: "0.002" }, quota: { limit: 50, period: "month" }, admission: "leased", lease: { permits: 10, seconds: 0.3 } },
        strict: { rule: "metered", price: { unit: "0.001" } },
        // Leases long enough that a few requests in a row surely share one, on a loaded machine too.
        steady: { rule: "metered", price: { unit: "0.001" }, quota: { limit: 1000, period: "month" }, admission: "leased", lease: { permits: 100, seconds: 2 } },
      },
      incentives: { batch: { minUnits: 5, multiplier: 0.5 } },
    },
  },
} satisfies CatalogInput;

beforeAll(async () => {
  await loadCatalog(catalog);
  forgetHoldings();
});

const limiter = (tenant: string) => (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(tenant);
/** Blocking limiter calls since the object started: admissions (a lease request is one) and reports. */
const limiterCalls = async (tenant: string) => {
  const { calls } = await adminOk<{ calls: Record<string, number> }>("GET", `/tenants/${tenant}/limiter`);
  return calls;
};
const leasesGranted = async (tenant: string) => (await adminOk<{ leasesGranted: number }>("GET", `/tenants/${tenant}/limiter`)).leasesGranted;
const leaseRows = (tenant: string) => runInDurableObject(limiter(tenant), (_: TenantLimiter, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM leases").one().n);

async function usage(tenant: string): Promise<RollupRow[]> {
  return adminOk<RollupRow[]>("GET", `/usage?tenant=${tenant}&granularity=month`);
}

describe("the catalog refuses leased admission where it cannot apply", () => {
  it("with concurrency, or units from the response under a blocking quota — naming the field", async () => {
    const res = await admin("PUT", "/catalog", {
      ...catalog,
      surfaces: { ...catalog.surfaces, feed: { routes: ["GET /feed"], meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } } } },
      plans: {
        p: {
          surfaces: {
            ...catalog.plans.p.surfaces,
            strict: { rule: "metered", price: { unit: "0.001" }, concurrency: 2, admission: "leased" },
            feed: { rule: "metered", price: { unit: "0.001" }, quota: { limit: 10, period: "day" }, admission: "leased" },
          },
        },
      },
    });
    const problem = await expectProblem(res, 400, "invalid-request");
    const paths = (problem.errors as { path: string; message: string }[]).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["/plans/p/surfaces/strict/admission", "/plans/p/surfaces/feed/admission"]));
    expect((await adminOk<{ version: number }>("GET", "/catalog")).version).toBe(1); // nothing changed
  });
});

describe("leased requests", () => {
  it("answer with their own lease's RateLimit: the same for every request of a lease, the next lease's after it", async () => {
    const { key } = await tenantWithKey({ id: "lease-headers", plan: "p" });
    const quotaLeft = async (path: string) => {
      const res = await call(key, path);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      return Number(/"quota";r=(\d+)/.exec(res.headers.get("RateLimit") ?? "")?.[1]);
    };
    const lease = async (n: number) => {
      const seen: number[] = [];
      for (let i = 0; i < n; i++) seen.push(await quotaLeft(`/steady/${i}`));
      return seen;
    };
    // The first request asks for the lease: 1 unit charged, 100 reserved for its permits.
    expect(await lease(4)).toEqual([899, 899, 899, 899]);
    expect(await leasesGranted("lease-headers")).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2_100)); // the 2-s lease ends
    // The next lease request reports 3 used (97 back), is charged 1, and reserves 100 again.
    expect(await lease(3)).toEqual([895, 895, 895]);
    expect(await leasesGranted("lease-headers")).toBe(2);
  });

  it("quota 1000, 50 at a time: exactly 1000 admitted, at most 0.1 limiter calls per request, rollups equal the answers", async () => {
    const { key } = await tenantWithKey({ id: "lease-quota", plan: "p" });
    const statuses: number[] = [];
    let cost = 0;
    let units = 0;
    for (let round = 0; round < 22; round++) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, i) => call(key, `/leased/${round}-${i}`)));
      for (const res of batch) {
        await res.arrayBuffer();
        statuses.push(res.status);
        units += Number(res.headers.get("Tollgate-Units") ?? 0);
        cost += parseMoney(res.headers.get("Tollgate-Cost") ?? "0");
      }
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(1000);
    expect(statuses.filter((s) => s === 429)).toHaveLength(100);
    const leases = await leasesGranted("lease-quota");
    expect(leases).toBeGreaterThan(0);
    expect(leases).toBeLessThanOrEqual(20); // 1000 permits in leases of 100, and a few cut short
    expect(statuses.length).toBe(1100);
    expect(units).toBe(1000);
    // Leased usage arrives with the reports, within the lease's seconds.
    await expect
      .poll(async () => {
        const rows = await usage("lease-quota");
        return { units: rows.reduce((n, r) => n + r.units, 0), cost: formatMoney(rows.reduce((n, r) => n + parseMoney(r.cost), 0)), charged: rows.reduce((n, r) => n + r.charged, 0) };
      }, { timeout: 5_000 })
      .toEqual({ units: 1000, cost: formatMoney(cost), charged: 1000 });
    const limits = await adminOk<Record<string, { quota: { used: number; remaining: number } }>>("GET", "/tenants/lease-quota/limits");
    expect(limits.leased!.quota).toMatchObject({ used: 1000, remaining: 0 });
    expect(await leaseRows("lease-quota")).toBe(0); // every lease reported, and its row gone
    // ≤ 0.1 limiter calls per admitted request. (Each of the 100 refusals once the quota is spent
    // is a call of its own: the limiter is the only one who knows the quota is gone.)
    const calls = await limiterCalls("lease-quota");
    expect(calls.admit! - 100 + calls.reportLease!).toBeLessThanOrEqual(100);
    expect(calls.settle).toBe(0);
  });

  it("a unit count per request (json-array) draws from the lease's units, and incentives are priced as strict would", async () => {
    const { key } = await tenantWithKey({ id: "lease-batch", plan: "p" });
    const answers: { status: number; units: string | null; cost: string | null }[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await call(key, "/batch", { method: "POST", body: JSON.stringify([1, 2, 3, 4, 5]) });
      await res.arrayBuffer();
      answers.push({ status: res.status, units: res.headers.get("Tollgate-Units"), cost: res.headers.get("Tollgate-Cost") });
    }
    // 50 units of quota / 5 per request: 10 admitted, at 5 × 0.002 × 0.5.
    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
    expect(answers.filter((a) => a.status === 200).every((a) => a.units === "5" && a.cost === "0.005")).toBe(true);
    await expect.poll(async () => (await usage("lease-batch")).reduce((n, r) => n + r.units, 0), { timeout: 5_000 }).toBe(50);
    expect((await usage("lease-batch"))[0]!.incentives).toMatchObject({ batch: 10 });
  });

  it("a lease whose holder never reports is counted unreported, its units stay used; a late report corrects it", async () => {
    const { keyId } = await tenantWithKey({ id: "lease-lost", plan: "p" });
    const clock = new ManualClock(Date.now());
    await setLimiterClock("lease-lost", clock);
    const admitted = (await limiter("lease-lost").admit({
      requestId: crypto.randomUUID(),
      keyId,
      surface: "leased",
      terms: surfaceTerms(Catalog.parse(catalog), "leased"),
      units: 1,
      idempotencyKey: false,
      conditional: false,
      leaseMs: 60_000,
      catalogVersion: 1,
      lease: {},
    })) as ChargedAdmission;
    expect(admitted.lease).toMatchObject({ permits: 100, units: 100 });
    const lease = admitted.lease!;
    clock.advance(300 + REPORT_GRACE_MS);
    await runDurableObjectAlarm(limiter("lease-lost"));
    const lost = (await usage("lease-lost")).find((r) => r.surface === "leased")!;
    expect(lost).toMatchObject({ unreported: 100, charged: 1, units: 1 });
    const limits = () => adminOk<Record<string, { quota: { used: number; remaining: number } }>>("GET", "/tenants/lease-lost/limits");
    expect((await limits()).leased!.quota).toMatchObject({ used: 101, remaining: 899 }); // never over-admits
    // The holder reports after all: 3 permits used, the rest go back to the quota.
    const report = { leaseId: lease.leaseId, used: 3, usage: [{ outcome: "charged" as const, count: 3, units: 3, cost: 3000, savings: 0, incentives: [] }] };
    await limiter("lease-lost").reportLeases([report]);
    await limiter("lease-lost").reportLeases([report]); // counts once
    expect((await usage("lease-lost")).find((r) => r.surface === "leased")).toMatchObject({ unreported: 0, charged: 4, units: 4, cost: "0.004" });
    expect((await limits()).leased!.quota).toMatchObject({ used: 4, remaining: 996 });
    await runDurableObjectAlarm(limiter("lease-lost"));
  });

  it("a strict surface makes one limiter call per request and takes no lease", async () => {
    const { key } = await tenantWithKey({ id: "lease-strict", plan: "p" });
    for (let i = 0; i < 5; i++) await (await call(key, `/strict/${i}`)).arrayBuffer();
    expect(await leasesGranted("lease-strict")).toBe(0);
    expect(await limiterCalls("lease-strict")).toMatchObject({ admit: 5, settle: 0 });
  });
});
