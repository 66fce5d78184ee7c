// Outcomes reported after the fact (CONTRACT §11): reported units are priced, counted in the
// quota period of their time, rolled up in their hour, idempotent by the reporter's id; every bad
// event is rejected with its code while the others count; the `report` scope reaches nothing else.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { REPORT_BACKLOG_EVENTS, type TenantLimiter } from "../../src/limiter/tenant-limiter";
import { createAdminToken } from "../support/admin-tokens";
import { admin, adminOk, call, expectProblem, loadCatalog, send, tenantWithKey } from "../support/http";

const HOUR = 3_600_000;
let reportToken: string;

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      exports: { routes: ["POST /v1/exports"], meter: { unit: "row", count: { from: "reported" } } },
      sync: { routes: ["GET /v1/sync/*"], meter: { unit: "byte", count: { from: "reported" } } },
      plain: { routes: ["GET /plain"] },
      "plain-reported": { routes: ["POST /v1/jobs"], meter: { unit: "row", count: { from: "reported" } } },
    },
    plans: {
      p: {
        surfaces: {
          exports: { rule: "metered", price: { unit: "0.001", overage: "0.002" }, quota: { limit: 1000, period: "day", overage: "bill" } },
          sync: { rule: "metered", price: { unit: "0.5", per: 1_000_000 }, quota: { limit: 5000, period: "month", overage: "block" } },
          plain: { rule: "metered", price: { unit: "0.01" } },
          "plain-reported": { rule: "metered", price: { unit: "0.001" } },
        },
        incentives: { "idempotency-key": 0.5, batch: { minUnits: 10000, multiplier: 0.9 } },
      },
    },
  });
  reportToken = (await createAdminToken("origin-reporter", ["report"])).token;
});

type Answer = { accepted: number; duplicates: string[]; rejected: { id: string; code: string; detail: string }[] };
type Row = { surface: string; periodStart: string; requests: number; charged: number; units: number; reported: number; cost: string; incentives: Record<string, number> };

const report = (events: unknown[], token = reportToken) =>
  send("/_tollgate/admin/usage/reports", { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify({ events }) });
const reportOk = async (events: unknown[]) => {
  const res = await report(events);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as Answer;
};

describe("reported units", () => {
  it("answer the request with 0 units, then price the report with the request's incentives, idempotent by id", async () => {
    const { key } = await tenantWithKey({ id: "rep-a", plan: "p" });
    const res = await call(key, "/v1/exports", { method: "POST", headers: { "Idempotency-Key": "job-1" } });
    await res.arrayBuffer();
    expect([res.status, res.headers.get("Tollgate-Units"), res.headers.get("Tollgate-Cost")]).toEqual([200, "0", "0"]);
    const requestId = res.headers.get("Tollgate-Request-Id")!;

    expect(await reportOk([{ id: "export:job-1", units: 400, requestId }])).toEqual({ accepted: 1, duplicates: [], rejected: [] });
    // A retry of the same report, and the same id twice in one batch, count once.
    expect(await reportOk([{ id: "export:job-1", units: 400, requestId }, { id: "x2", units: 1, tenant: "rep-a", surface: "exports" }, { id: "x2", units: 1, tenant: "rep-a", surface: "exports" }])).toEqual({ accepted: 1, duplicates: ["export:job-1", "x2"], rejected: [] });
    const rows = await adminOk<Row[]>("GET", "/usage?tenant=rep-a&surface=exports&granularity=day");
    // 400 rows × 0.001 × 0.5 (the request carried an Idempotency-Key) + 1 row × 0.001.
    expect(rows).toEqual([expect.objectContaining({ requests: 1, charged: 1, units: 401, reported: 401, cost: "0.201", incentives: { "idempotency-key": 1 } })]);
  });

  it("count in the quota period and the rollup hour of their time, never refused: past a bill quota at the overage price", async () => {
    await tenantWithKey({ id: "rep-b", plan: "p" });
    const twoHoursAgo = new Date(Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR + 60_000).toISOString();
    const answer = await reportOk([
      { id: "b1", units: 900, tenant: "rep-b", surface: "exports", time: twoHoursAgo },
      { id: "b2", units: 300, tenant: "rep-b", surface: "exports" },
    ]);
    expect(answer.accepted).toBe(2);
    const hours = await adminOk<Row[]>("GET", "/usage?tenant=rep-b&granularity=hour");
    const hourOf = (iso: string) => new Date(Math.floor(Date.parse(iso) / HOUR) * HOUR).toISOString();
    const early = hours.find((r) => r.periodStart === hourOf(twoHoursAgo));
    expect(early).toMatchObject({ units: 900, reported: 900, cost: "0.9", requests: 0 });
    // The 300 now: 100 within the day's 1,000, 200 past it at 0.002 — if both fall in the same day.
    const sameDay = new Date(twoHoursAgo).getUTCDate() === new Date().getUTCDate();
    const late = hours.find((r) => r.periodStart === hourOf(new Date().toISOString()))!;
    expect(late.cost).toBe(sameDay ? "0.5" : "0.3");
  });

  it("past a blocking quota: the report counts, and the next request is refused quota-exhausted", async () => {
    const { key } = await tenantWithKey({ id: "rep-c", plan: "p" });
    const first = await call(key, "/v1/sync/a");
    await first.arrayBuffer();
    expect(first.status).toBe(200);
    expect((await reportOk([{ id: "c1", units: 7000, requestId: first.headers.get("Tollgate-Request-Id") }])).accepted).toBe(1);
    await expectProblem(await call(key, "/v1/sync/b"), 429, "quota-exhausted");
    const rows = await adminOk<Row[]>("GET", "/usage?tenant=rep-c&surface=sync&granularity=month");
    expect(rows[0]).toMatchObject({ reported: 7000, cost: "0.0035" });
  });

  it("reject each bad event with its code and count the others; a malformed body records nothing", async () => {
    await tenantWithKey({ id: "rep-d", plan: "p" });
    const ok = { tenant: "rep-d", surface: "exports" };
    const answer = await reportOk([
      { id: "d-ok", units: 5, ...ok },
      { id: "d-neg", units: -1, ...ok },
      { id: "d-frac", units: 1.5, ...ok },
      { id: "d-str", units: "12", ...ok },
      { id: "d-huge", units: 1e16, ...ok },
      { id: "d-old", units: 1, ...ok, time: new Date(Date.now() - 36 * 86_400_000).toISOString() },
      { id: "d-ahead", units: 1, ...ok, time: new Date(Date.now() + 10 * 60_000).toISOString() },
      { id: "d-tenant", units: 1, tenant: "nobody", surface: "exports" },
      { id: "d-surface", units: 1, tenant: "rep-d", surface: "nowhere" },
      { id: "d-plain", units: 1, tenant: "rep-d", surface: "plain" },
      { id: "d-request", units: 1, requestId: "00000000-0000-0000-0000-000000000000" },
    ]);
    expect(answer.accepted).toBe(1);
    expect(Object.fromEntries(answer.rejected.map((r) => [r.id, r.code]))).toEqual({
      "d-neg": "invalid-units",
      "d-frac": "invalid-units",
      "d-str": "invalid-units",
      "d-huge": "invalid-units",
      "d-old": "out-of-window",
      "d-ahead": "out-of-window",
      "d-tenant": "unknown-tenant",
      "d-surface": "unknown-surface",
      "d-plain": "not-reported",
      "d-request": "unknown-request",
    });
    const before = await adminOk<Row[]>("GET", "/usage?tenant=rep-d&granularity=month");
    for (const body of [
      { events: Array.from({ length: 1001 }, (_, i) => ({ id: `m${i}`, units: 1, ...ok })) },
      { events: [{ units: 1, ...ok }] },
      { events: [{ id: "t", units: 1, ...ok, time: "yesterday" }] },
      { events: [] },
      { nope: 1 },
    ]) {
      const res = await send("/_tollgate/admin/usage/reports", { method: "POST", headers: { Authorization: `Bearer ${reportToken}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
      await expectProblem(res, 400, "invalid-request");
    }
    expect(await adminOk<Row[]>("GET", "/usage?tenant=rep-d&granularity=month")).toEqual(before);
  });

  it("two concurrent reports with the same id count once", async () => {
    await tenantWithKey({ id: "rep-e", plan: "p" });
    const answers = await Promise.all([1, 2, 3].map(() => reportOk([{ id: "same", units: 10, tenant: "rep-e", surface: "exports" }])));
    expect(answers.reduce((n, a) => n + a.accepted, 0)).toBe(1);
    expect(answers.flatMap((a) => a.duplicates)).toEqual(["same", "same"]);
    expect((await adminOk<Row[]>("GET", "/usage?tenant=rep-e&granularity=month"))[0]).toMatchObject({ reported: 10 });
  });
});

describe("a flood of reports", () => {
  it(`waits for the flush once ${REPORT_BACKLOG_EVENTS} events are unflushed: the backlog stays bounded, nothing is lost`, async () => {
    await tenantWithKey({ id: "rep-flood", plan: "p" });
    const batches = REPORT_BACKLOG_EVENTS / 1000 + 3;
    for (let b = 0; b < batches; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({ id: `flood:${b}:${i}`, units: 1, tenant: "rep-flood", surface: "plain-reported" }));
      expect((await reportOk(events)).accepted).toBe(1000);
    }
    // No alarm ran and nothing read usage: only the reports themselves can have flushed.
    const flushed = await env.DB.prepare("SELECT COALESCE(SUM(reported), 0) AS n FROM usage_rollups WHERE tenant = 'rep-flood' AND granularity = 'month'").first<{ n: number }>();
    expect(flushed!.n).toBeGreaterThanOrEqual(batches * 1000 - REPORT_BACKLOG_EVENTS);
    const stats = await (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName("rep-flood").stats();
    expect(stats.storage.rows.usage_events).toBeLessThanOrEqual(REPORT_BACKLOG_EVENTS + 1000);
    const rows = await adminOk<Row[]>("GET", "/usage?tenant=rep-flood&granularity=month");
    expect(rows.reduce((n, r) => n + r.reported, 0)).toBe(batches * 1000);
  });
});

describe("a limiter that fails under a report", () => {
  it("answers 503 limiter-unavailable; the other tenants' events count, and the same batch sent again counts each event once", async () => {
    await tenantWithKey({ id: "rep-ok", plan: "p" });
    await tenantWithKey({ id: "rep-down", plan: "p" });
    const down = (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName("rep-down");
    // Its storage refuses the report's transaction (every usage event insert fails).
    const rename = (from: string, to: string) => runInDurableObject(down, (_: TenantLimiter, state) => void state.storage.sql.exec(`ALTER TABLE ${from} RENAME TO ${to}`));
    await rename("usage_events", "usage_events_away");
    const batch = [
      { id: "ok-1", units: 5, tenant: "rep-ok", surface: "plain-reported" },
      { id: "down-1", units: 7, tenant: "rep-down", surface: "plain-reported" },
    ];
    const failed = await report(batch);
    const body = await expectProblem(failed, 503, "limiter-unavailable");
    expect(failed.headers.get("Retry-After")).toBe("1");
    expect(body.detail).toContain('"rep-down"');
    await rename("usage_events_away", "usage_events");

    expect(await reportOk(batch)).toEqual({ accepted: 1, duplicates: ["ok-1"], rejected: [] });
    for (const [tenant, units] of [["rep-ok", 5], ["rep-down", 7]] as const) {
      const rows = await adminOk<Row[]>("GET", `/usage?tenant=${tenant}&granularity=month`);
      expect(rows.reduce((n, r) => n + r.reported, 0), tenant).toBe(units);
    }
  });
});

describe("the report scope", () => {
  it("reaches the reports endpoint only; other tokens and tenant keys do not reach it", async () => {
    const { key } = await tenantWithKey({ id: "rep-f", plan: "p" });
    await expectProblem(await admin("GET", "/tenants", undefined, reportToken), 403, "forbidden");
    await expectProblem(await admin("PATCH", "/tenants/rep-f", { status: "suspended" }, reportToken), 403, "forbidden");
    const writer = await createAdminToken("writer-not-reporter", ["read", "write"]);
    await expectProblem(await report([{ id: "w", units: 1, tenant: "rep-f", surface: "exports" }], writer.token), 403, "forbidden");
    await expectProblem(await report([{ id: "k", units: 1, tenant: "rep-f", surface: "exports" }], key), 401, "unauthenticated");
    const root = await report([{ id: "r", units: 1, tenant: "rep-f", surface: "exports" }], env.ADMIN_TOKEN);
    expect(((await root.json()) as Answer).accepted).toBe(1);
  });

  it("the quote of a reported surface answers units null and the unit price", async () => {
    const { key } = await tenantWithKey({ id: "rep-g", plan: "p" });
    const q = await (await call(key, "/_tollgate/quote", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ method: "POST", path: "/v1/exports" }) })).json();
    expect(q).toMatchObject({ allowed: true, surface: "exports", units: null, cost: null, unitPrice: "0.001", unit: "row" });
  });
});
