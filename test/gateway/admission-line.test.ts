// A tenant's requests that arrive in one isolate while its admission call is on its way are
// admitted together in the next call (src/gateway/admission-line.ts, issue 15). Each is still
// judged by the limiter on its own before it is forwarded: batched or not, the answers, the quota
// and the rollups are the same. These tests send through the app in the test's own context
// (`sendWith`), where waiting requests can share calls; the rest of the suite runs with
// ADMIT_BATCHING=off (see vitest.config.ts), and test/e2e/batching.test.ts runs it on a real gateway.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { admitInLine, LINE_PATIENCE_MS } from "../../src/gateway/admission-line";
import type { AdmitRequest, LimiterStats } from "../../src/limiter/protocol";
import type { RollupRow } from "../../src/metering/usage-rows";
import { formatMoney, parseMoney } from "../../src/pricing/money";
import { breakUsageLog, sendWith, unreachableLimiter } from "../support/faults";
import { adminOk, loadCatalog, tenantWithKey } from "../support/http";

const PRICE = "0.001";

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      metered: { routes: ["GET /metered/*"] },
      free: { routes: ["GET /free/*"] },
      closed: { routes: ["GET /closed/*"] },
    },
    plans: {
      p: {
        surfaces: {
          metered: { rule: "metered", price: { unit: PRICE }, quota: { limit: 20, period: "month" } },
          free: { rule: "included" },
          closed: { rule: "prohibited" },
        },
      },
    },
  });
});

const batching = { ADMIT_BATCHING: "on" };

interface Answer {
  status: number;
  units: string | null;
  cost: string | null;
  limiter: string | null;
}

/** Sends every path at once (through the app, batching on) and reads each answer whole. */
async function sendAll(key: string, paths: string[], overrides: Partial<Env> = batching): Promise<Answer[]> {
  return Promise.all(
    paths.map(async (path) => {
      const res = await sendWith(overrides, path, { headers: { Authorization: `Bearer ${key}` } });
      await res.arrayBuffer();
      return { status: res.status, units: res.headers.get("Tollgate-Units"), cost: res.headers.get("Tollgate-Cost"), limiter: res.headers.get("Tollgate-Limiter") };
    }),
  );
}

const stats = (tenant: string) => adminOk<LimiterStats>("GET", `/tenants/${tenant}/limiter`);

/** The tenant's rollups this month, summed: requests, units, cost. */
async function rolledUp(tenant: string): Promise<{ requests: number; units: number; cost: string }> {
  const rows = await adminOk<RollupRow[]>("GET", `/usage?tenant=${tenant}&granularity=month`);
  return {
    requests: rows.reduce((n, r) => n + r.requests, 0),
    units: rows.reduce((n, r) => n + r.units, 0),
    cost: formatMoney(rows.reduce((n, r) => n + parseMoney(r.cost), 0)),
  };
}

describe("admissions that travel together", () => {
  it("40 requests at once against a quota of 20: exactly 20 admitted, in a few calls, and the rollups equal the answers", async () => {
    const { key } = await tenantWithKey({ id: "line-quota", plan: "p" });
    const answers = await sendAll(key, Array.from({ length: 40 }, (_, i) => `/metered/${i}`));
    const admitted = answers.filter((a) => a.status === 200);
    expect(admitted).toHaveLength(20);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(20);
    const s = await stats("line-quota");
    // One call went alone; the 39 that arrived while it was on its way came in batches.
    expect(s.calls.admit).toBe(1);
    expect(s.batchedAdmissions).toBe(39);
    expect(s.calls.admitBatch).toBeGreaterThanOrEqual(1);
    expect(s.calls.admitBatch).toBeLessThan(39);
    const limits = await adminOk<Record<string, { quota: { used: number; remaining: number } }>>("GET", "/tenants/line-quota/limits");
    expect(limits.metered!.quota).toMatchObject({ used: 20, remaining: 0 });
    const announced = formatMoney(admitted.reduce((n, a) => n + parseMoney(a.cost!), 0));
    expect(announced).toBe(formatMoney(20 * parseMoney(PRICE)));
    const rolled = await rolledUp("line-quota");
    expect({ units: rolled.units, cost: rolled.cost }).toEqual({ units: 20, cost: announced });
    expect(rolled.requests).toBe(40); // the refusals are counted too
  });

  it("each admission of a batch is judged on its own: a mix of surfaces answers as it does one call per request", async () => {
    const paths = Array.from({ length: 30 }, (_, i) => [`/metered/${i}`, `/free/${i}`, `/closed/${i}`][i % 3]!);
    const together = (await tenantWithKey({ id: "line-mix", plan: "p" })).key;
    const alone = (await tenantWithKey({ id: "line-mix-alone", plan: "p" })).key;
    const byPath = (answers: Answer[]) => answers.map((a, i) => `${paths[i]!.split("/")[1]} ${a.status} ${a.units} ${a.cost}`).sort();
    const batched = await sendAll(together, paths);
    const single = await sendAll(alone, paths, { ADMIT_BATCHING: "off" });
    expect(byPath(batched)).toEqual(byPath(single));
    expect(batched.filter((a) => a.status === 403)).toHaveLength(10); // prohibited
    expect((await stats("line-mix")).batchedAdmissions).toBeGreaterThan(0);
    expect((await stats("line-mix-alone")).batchedAdmissions).toBe(0);
    expect(await rolledUp("line-mix")).toEqual(await rolledUp("line-mix-alone"));
  });

  it("a limiter that cannot answer fails every waiting request as it would fail alone", async () => {
    const { key } = await tenantWithKey({ id: "line-down", plan: "p" });
    // An unreachable limiter that takes a moment to say so, so that requests wait in line meanwhile.
    const asked: string[] = [];
    const slowFailing = unreachableLimiter(20, asked);
    const paths = Array.from({ length: 8 }, (_, i) => `/metered/${i}`);
    const closed = await sendAll(key, paths, { ...batching, LIMITER: slowFailing });
    expect(closed.map((a) => a.status)).toEqual(Array(8).fill(503));
    expect(asked).toContain("admitBatch");
    asked.length = 0;
    const open = await sendAll(key, paths, { ...batching, LIMITER: slowFailing, FAIL_MODE: "open" });
    expect(open.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(open.map((a) => a.limiter)).toEqual(Array(8).fill("unavailable")); // forwarded unmetered
    expect(asked).toContain("admitBatch");
  });

  it("admissions whose write fails in a batch count nothing, and the next ones are exact", async () => {
    const { key } = await tenantWithKey({ id: "line-torn", plan: "p" });
    expect((await sendAll(key, ["/metered/first"])).map((a) => a.status)).toEqual([200]);
    const repair = await breakUsageLog("line-torn");
    const failed = await sendAll(key, Array.from({ length: 6 }, (_, i) => `/metered/torn-${i}`));
    expect(failed.map((a) => a.status)).toEqual(Array(6).fill(503));
    await repair();
    const s = await stats("line-torn");
    expect(s.batchedAdmissions).toBeGreaterThan(0); // the failures were batched
    expect(s.failedTransactions).toBe(6);
    const after = await sendAll(key, Array.from({ length: 30 }, (_, i) => `/metered/after-${i}`));
    expect(after.filter((a) => a.status === 200)).toHaveLength(19); // 20 minus the first: none of the 6 counted
    expect((await rolledUp("line-torn")).units).toBe(20);
  });

  it("an admission that throws in a batch fails alone: the others of the same call are admitted and counted", async () => {
    const tenant = "line-partial";
    const { key } = await tenantWithKey({ id: tenant, plan: "p" });
    const repair = await breakUsageLog(tenant, "metered"); // only the metered surface's events fail
    const paths = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? `/free/${i}` : `/metered/${i}`));
    const answers = await sendAll(key, paths);
    await repair();
    expect(answers.map((a) => a.status)).toEqual(paths.map((p) => (p.startsWith("/free/") ? 200 : 503)));
    const s = await stats(tenant);
    expect(s.batchedAdmissions).toBeGreaterThanOrEqual(10); // the free and the failing ones shared calls
    expect(s.failedTransactions).toBe(6);
    const limits = await adminOk<Record<string, { quota: { used: number } }>>("GET", `/tenants/${tenant}/limits`);
    expect(limits.metered!.quota.used).toBe(0); // none of the failed admissions counted
    expect(await rolledUp(tenant)).toEqual({ requests: 6, units: 6, cost: formatMoney(0) }); // the six free ones, once each
  });
});

describe("the line's patience", () => {
  const request = (requestId: string): AdmitRequest => ({
    requestId,
    keyId: "k",
    surface: "free",
    terms: { meter: { unit: "request", count: { from: "request" } }, plans: { p: { entry: { rule: "included" }, incentives: {} } } },
    units: 1,
    idempotencyKey: false,
    conditional: false,
    leaseMs: 60_000,
    catalogVersion: 1,
  });

  it("joins a call on its way, but not one on its way longer than LINE_PATIENCE_MS", async () => {
    const tenant = "line-patience";
    const { keyId } = await tenantWithKey({ id: tenant, plan: "p" });
    const kept: Promise<unknown>[] = [];
    const keep = (p: Promise<unknown>) => void kept.push(p);
    const withKey = (id: string) => ({ ...request(id), keyId });
    // Synchronously one after another: the first call is still on its way for the next two.
    const answers = [
      admitInLine(env, tenant, withKey("a"), keep, 0),
      admitInLine(env, tenant, withKey("b"), keep, LINE_PATIENCE_MS), // joins
      admitInLine(env, tenant, withKey("c"), keep, LINE_PATIENCE_MS + 1), // too late: calls alone
    ];
    const results = await Promise.all(answers);
    await Promise.all(kept);
    expect(results.map((r) => r.kind)).toEqual(["admitted", "admitted", "admitted"]);
    const s = await stats(tenant);
    expect(s.calls.admit).toBe(2);
    expect(s.calls.admitBatch).toBe(1);
    expect(s.batchedAdmissions).toBe(1);
  });
});
