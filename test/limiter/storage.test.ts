// A tenant's limiter storage stays bounded whatever its traffic (CONTRACT §6): admission rows go
// when settled, usage events become hourly aggregates once flushed. 10,000 requests through one
// tenant leave a handful of rows, not thousands.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { LimiterStats } from "../../src/limiter/protocol";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import type { RollupRow } from "../../src/metering/usage-rows";
import { adminOk, call, loadCatalog, tenantWithKey } from "../support/http";

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } },
      slots: { routes: ["GET /slots/*"] },
      feed: { routes: ["GET /v1/events"], meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } } },
    },
    plans: {
      p: {
        surfaces: {
          items: { rule: "metered", price: { unit: "0.001" }, quota: { limit: 1_000_000, period: "month" } },
          slots: { rule: "metered", price: { unit: "0.001" }, concurrency: 50 },
          feed: { rule: "metered", price: { unit: "0.0001" } },
        },
      },
    },
  });
});

const REQUESTS = 10_000;
const PARALLEL = 100;

describe("bounded limiter storage", () => {
  it(`${REQUESTS} requests through one tenant leave rows that do not grow with traffic`, async () => {
    const { key } = await tenantWithKey({ id: "busy", plan: "p" });
    let ok = 0;
    for (let i = 0; i < REQUESTS; i += PARALLEL) {
      const batch = await Promise.all(
        Array.from({ length: PARALLEL }, (_, j) => {
          const n = i + j;
          // Charged at admission, held for a slot, and held for units from the response.
          if (n % 5 === 0) return call(key, `/slots/${n}`);
          if (n % 5 === 1) return call(key, `/v1/events?limit=${n % 7}`);
          return call(key, "/items", { method: "POST", body: JSON.stringify([n]) });
        }),
      );
      for (const res of batch) {
        await res.arrayBuffer();
        if (res.status === 200) ok++;
      }
    }
    expect(ok).toBe(REQUESTS);
    const stub = (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName("busy");
    // Every usage answer flushes first: all 10,000 are in the rollups...
    await expect
      .poll(async () => (await adminOk<RollupRow[]>("GET", "/usage?tenant=busy&granularity=month")).reduce((n, r) => n + r.requests, 0))
      .toBe(REQUESTS);
    await runDurableObjectAlarm(stub);
    // ...and the limiter keeps only aggregates of them.
    const stats = await adminOk<LimiterStats>("GET", "/tenants/busy/limiter");
    expect(stats.storage.rows).toMatchObject({ admissions: 0, usage_events: 0, idempotency: 0, leases: 0, refunds: 0 });
    expect(stats.storage.rows.usage_history).toBeLessThanOrEqual(3 * 2 * 2); // surfaces × (at most) hours × catalog versions
    expect(stats.storage.bytes).toBeLessThan(512 * 1024);
    expect(stats.calls).toMatchObject({ admit: REQUESTS });
    expect(stats.calls.settle).toBeLessThanOrEqual((2 * REQUESTS) / 5); // only held admissions are settled
  }, 120_000);
});
