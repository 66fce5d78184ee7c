// A batch of reports moves many quota counters at once (CONTRACT §11): each is written once at the
// batch's end, and none is lost even when the batch touches more counters than the limiter keeps
// in memory (its cache is dropped past 1000).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import { send, loadCatalog, tenantWithKey } from "../support/http";

const HOUR = 3_600_000;

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: { a: { routes: ["POST /a"], meter: { unit: "row", count: { from: "reported" } } }, b: { routes: ["POST /b"], meter: { unit: "row", count: { from: "reported" } } } },
    plans: { p: { surfaces: { a: { rule: "metered", price: { unit: "0.001" }, quota: { limit: 5, period: "hour", overage: "bill" } }, b: { rule: "metered", price: { unit: "0.001" }, quota: { limit: 5, period: "hour", overage: "bill" } } } } },
  });
});

const post = (events: unknown[]) =>
  send("/_tollgate/admin/usage/reports", { method: "POST", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" }, body: JSON.stringify({ events }) });

describe("a batch of reports over many quota periods", () => {
  it("counts every unit in its period, with more counters than the limiter keeps in memory", async () => {
    await tenantWithKey({ id: "rq", plan: "p" });
    const base = Math.floor(Date.now() / HOUR) * HOUR - 820 * HOUR; // hours 0–799 all lie within the 35 days
    // Two surfaces × hours [from, to): one counter per event.
    const batch = (round: number, from: number, to: number) =>
      Array.from({ length: 2 * (to - from) }, (_, i) => ({ id: `r${round}-${i}`, units: 3, tenant: "rq", surface: i % 2 ? "a" : "b", time: new Date(base + (from + Math.floor(i / 2)) * HOUR + 1000).toISOString() }));
    // 1000 counters, then 600 more (the limiter's cache is dropped in the middle of that batch), then the first 1000 again.
    for (const [round, from, to] of [[1, 0, 500], [2, 500, 800], [3, 0, 500]] as const) {
      const res = await post(batch(round, from, to));
      expect(((await res.json()) as { accepted: number }).accepted).toBe(2 * (to - from));
    }
    const rows = await runInDurableObject(env.LIMITER.getByName("rq") as DurableObjectStub<TenantLimiter>, (_: TenantLimiter, state) =>
      state.storage.sql.exec<{ used: number; n: number }>("SELECT SUM(used) AS used, COUNT(*) AS n FROM quotas").one(),
    );
    expect(rows).toEqual({ used: 7800, n: 1600 });
    const usage = await (await send("/_tollgate/admin/usage?tenant=rq&granularity=month", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } })).json<{ reported: number; cost: string }[]>();
    expect(usage.reduce((n, r) => n + r.reported, 0)).toBe(7800);
  });
});
