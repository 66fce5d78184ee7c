// Admissions that travel together (src/gateway/admission-line.ts, issue 15) through a real
// gateway: `wrangler dev` runs the Worker with the production compatibility flags, under which a
// request that waited in another request's batch resumes in its own context. The workers tests
// run with ADMIT_BATCHING=off through the router (vitest.config.ts explains why); here it is on.
import { expect, inject, test } from "vitest";
import { adminCall, uniqueId } from "./support/admin";

const gw = inject("gateway");

interface LimiterStats {
  calls: Record<string, number>;
  batchedAdmissions: number;
}

/** A growth tenant whose embed.ui (included, per request) has a quota of `limit` a month. */
async function tenantWithQuota(limit: number): Promise<{ id: string; key: string }> {
  const id = uniqueId("batch");
  const created = await adminCall(gw, "POST", "/tenants", { id, kind: "customer", plan: "growth", overrides: { "embed.ui": { quota: { limit, period: "month" } } } });
  expect(created.status).toBe(201);
  const key = await adminCall<{ key: string }>(gw, "POST", `/tenants/${id}/keys`, {});
  expect(key.status).toBe(201);
  return { id, key: key.body.key };
}

const embed = (key: string, i: number, signal?: AbortSignal) =>
  fetch(`${gw.url}/v1/embed/view-${i}`, { headers: { Authorization: `Bearer ${key}` }, ...(signal && { signal }) });

async function usedAndRolledUp(id: string): Promise<{ used: number; units: number }> {
  const limits = await adminCall<Record<string, { quota: { used: number } }>>(gw, "GET", `/tenants/${id}/limits`);
  const rows = await adminCall<{ surface: string; units: number }[]>(gw, "GET", `/usage?tenant=${id}&granularity=month`);
  expect(rows.status).toBe(200);
  return { used: limits.body["embed.ui"]!.quota.used, units: rows.body.filter((r) => r.surface === "embed.ui").reduce((n, r) => n + r.units, 0) };
}

test("100 requests at once against a quota of 25: exactly 25 admitted, most of them in batches, and the rollups agree", async () => {
  const { id, key } = await tenantWithQuota(25);
  const statuses = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const res = await embed(key, i);
      await res.arrayBuffer();
      return res.status;
    }),
  );
  expect(statuses.filter((s) => s === 200)).toHaveLength(25);
  expect(statuses.filter((s) => s === 429)).toHaveLength(75);
  const stats = await adminCall<LimiterStats>(gw, "GET", `/tenants/${id}/limiter`);
  expect(stats.body.batchedAdmissions).toBeGreaterThan(0);
  expect(stats.body.calls.admit! + stats.body.batchedAdmissions).toBe(100); // every request admitted once
  expect(stats.body.calls.admit! + stats.body.calls.admitBatch!).toBeLessThan(100);
  expect(await usedAndRolledUp(id)).toEqual({ used: 25, units: 25 });
});

test("clients that go away while others wait in line leave no request unanswered, and nothing counted twice or lost", async () => {
  const { id, key } = await tenantWithQuota(1_000);
  const sent = Array.from({ length: 60 }, (_, i) => {
    const abort = new AbortController();
    const gone = i % 3 === 0;
    if (gone) setTimeout(() => abort.abort(), i % 2 === 0 ? 0 : 5);
    return embed(key, i, abort.signal).then(
      async (res) => ({ gone, status: res.status, body: await res.text().catch(() => "") }),
      () => ({ gone, status: 0, body: "" }),
    );
  });
  const answers = await Promise.all(sent);
  // Every request whose client stayed was answered, and admitted.
  expect(answers.filter((a) => !a.gone).map((a) => a.status)).toEqual(Array(40).fill(200));
  const stats = await adminCall<LimiterStats>(gw, "GET", `/tenants/${id}/limiter`);
  expect(stats.body.calls.admit! + stats.body.batchedAdmissions).toBeLessThanOrEqual(60);
  // Those that went away were admitted or not, but each counted at most once, in the quota and
  // in the rollups alike.
  const { used, units } = await usedAndRolledUp(id);
  expect(used).toBe(units);
  expect(used).toBeGreaterThanOrEqual(40);
  expect(used).toBeLessThanOrEqual(60);
});
