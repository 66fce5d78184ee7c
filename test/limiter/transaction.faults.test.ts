// The limiter decides from memory and writes through to SQLite in one transaction (counters.ts).
// When that transaction fails, SQLite rolls back, and so must memory: otherwise the quota counter
// counts a request that storage never recorded, and every later answer (RateLimit, the price of
// overage, a refusal) is off by it. Here storage is broken on purpose under one admission.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { LimiterStats } from "../../src/limiter/protocol";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import type { RollupRow } from "../../src/metering/usage-rows";
import { breakUsageLog } from "../support/faults";
import { adminOk, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

const LIMIT = 1_000;

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: { items: { routes: ["GET /echo/*"] } },
    plans: { q: { surfaces: { items: { rule: "metered", price: { unit: "0.001" }, quota: { limit: LIMIT, period: "month" } } } } },
  });
});

const limiter = (tenant: string) => (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(tenant);

/** The quota's `r` (remaining) in the answer's RateLimit header. */
function quotaRemaining(res: Response): number {
  const match = /"quota";r=(\d+)/.exec(res.headers.get("RateLimit") ?? "");
  if (!match) throw new Error(`no quota in RateLimit: ${res.headers.get("RateLimit")}`);
  return Number(match[1]);
}

describe("a limiter transaction that fails", () => {
  it("counts nothing: memory is reloaded from the rolled-back storage, so the next answers are exact", async () => {
    const { key } = await tenantWithKey({ id: "torn", plan: "q" });
    const first = await call(key, "/echo/1");
    await first.arrayBuffer();
    expect(first.status).toBe(200);
    expect(quotaRemaining(first)).toBe(LIMIT - 1);

    const repair = await breakUsageLog("torn");
    const failed = await call(key, "/echo/2");
    await expectProblem(failed, 503, "limiter-unavailable");
    await repair();

    const next = await call(key, "/echo/3");
    await next.arrayBuffer();
    expect(next.status).toBe(200);
    // Two admitted requests, not three: the failed one moved the counter in memory before its
    // event insert threw.
    expect(quotaRemaining(next)).toBe(LIMIT - 2);
    const stats = await adminOk<LimiterStats>("GET", "/tenants/torn/limiter");
    expect(stats.failedTransactions).toBe(1);
    const rows = await adminOk<RollupRow[]>("GET", "/usage?tenant=torn&granularity=month");
    expect(rows.reduce((n, r) => n + r.requests, 0)).toBe(2);
    expect(rows.reduce((n, r) => n + r.units, 0)).toBe(2);
  });

  it("loses no refusal counted before admission: those a failed write could not record are written by the next", async () => {
    const { key } = await tenantWithKey({ id: "torn-refusals", plan: "q" });
    for (let i = 0; i < 3; i++) await expectProblem(await call(key, `/nowhere/${i}`), 404, "no-surface");
    const stub = limiter("torn-refusals");
    const repair = await breakUsageLog("torn-refusals");
    // Writing the counted refusals (the flush's first step) fails.
    const broken = await runInDurableObject(stub, (instance: TenantLimiter) => instance.flush().then(() => "flushed", (error: unknown) => String(error)));
    expect(broken).toContain("no such table: usage_events");
    await repair();
    await stub.flush();
    const counted = await runInDurableObject(stub, (_: TenantLimiter, state) => {
      const sql = state.storage.sql;
      const kept = sql.exec<{ n: number | null }>("SELECT SUM(requests) AS n FROM usage_history WHERE reason = 'no-surface'").one().n ?? 0;
      const waiting = sql.exec<{ n: number | null }>("SELECT SUM(weight) AS n FROM usage_events WHERE reason = 'no-surface'").one().n ?? 0;
      return kept + waiting;
    });
    expect(counted).toBe(3);
  });
});
