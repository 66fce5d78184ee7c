// The origin side of reported outcomes (CONTRACT §11, docs/reporting.md) against a real gateway:
// the plain-fetch snippet docs/reporting.md quotes (examples/report-usage/report.mjs) reports with
// a `report` token, counts an id once, batches by 1000; and the demo origin that `npm start` runs
// answers an export 202 and reports its rows a moment later, which then show in the usage.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
// @ts-expect-error -- plain ESM module without types
import { createDemoOrigin } from "../../examples/demo-origin.mjs";
// @ts-expect-error -- plain ESM module without types
import { jobEvent, reportUsage } from "../../examples/report-usage/report.mjs";
import { adminCall, uniqueId } from "./support/admin";
import { root } from "./support/cli";

const gw = inject("gateway");
const tenant = uniqueId("rep");
let key = "";
let token = "";

interface Answer { accepted: number; duplicates: string[]; rejected: { id: string; code: string; detail: string }[] }
interface UsageRow { units: number; reported?: number }

async function exportUsage(): Promise<{ units: number; reported: number }> {
  const res = await adminCall<UsageRow[]>(gw, "GET", `/usage?tenant=${tenant}&surface=bulk.export&granularity=month`);
  expect(res.status).toBe(200);
  return { units: res.body.reduce((n, r) => n + r.units, 0), reported: res.body.reduce((n, r) => n + (r.reported ?? 0), 0) };
}

/** An export request forwarded by the gateway: its Tollgate-Request-Id, which reports name. */
async function exportRequest(): Promise<string> {
  const res = await fetch(`${gw.url}/v1/exports`, { method: "POST", headers: { Authorization: `Bearer ${key}` } });
  await res.arrayBuffer();
  expect(res.status).toBeLessThan(300);
  expect(res.headers.get("Tollgate-Units")).toBe("0");
  return res.headers.get("Tollgate-Request-Id")!;
}

beforeAll(async () => {
  expect((await adminCall(gw, "POST", "/tenants", { id: tenant, kind: "customer", plan: "growth", addons: ["bulk.export"] })).status).toBe(201);
  key = (await adminCall<{ key: string }>(gw, "POST", `/tenants/${tenant}/keys`, { name: "reports" })).body.key;
  const created = await adminCall<{ token: string }>(gw, "POST", "/tokens", { name: uniqueId("origin-reporter"), scopes: ["report"] });
  expect(created.status).toBe(201);
  token = created.body.token;
});

describe("the reporting snippet (examples/report-usage/report.mjs)", () => {
  test("docs/reporting.md quotes it exactly as tested", () => {
    const doc = readFileSync(join(root, "docs/reporting.md"), "utf8");
    const source = readFileSync(join(root, "examples/report-usage/report.mjs"), "utf8");
    expect(doc.includes("```js\n" + source + "```"), "docs/reporting.md must quote examples/report-usage/report.mjs as it is").toBe(true);
  });

  test("a job's rows count once however often they are sent; a bad event is rejected and the others count", async () => {
    const requestId = await exportRequest();
    const job = { id: uniqueId("exp"), rows: 120, requestId };
    const before = await exportUsage();
    const first = (await reportUsage([jobEvent(job)], { url: gw.url, token })) as Answer;
    expect(first).toEqual({ accepted: 1, duplicates: [], rejected: [] });
    // A retry (the answer was lost, the process restarted): the same id, a duplicate.
    const retry = (await reportUsage([jobEvent(job), { id: `${job.id}:bad`, units: -1, tenant, surface: "bulk.export" }], { url: gw.url, token })) as Answer;
    expect(retry.accepted).toBe(0);
    expect(retry.duplicates).toEqual([`export:${job.id}`]);
    expect(retry.rejected.map((r) => [r.id, r.code])).toEqual([[`${job.id}:bad`, "invalid-units"]]);
    expect(await exportUsage()).toEqual({ units: before.units + 120, reported: before.reported + 120 });
  });

  test("2500 events go in batches of at most 1000, all accepted", async () => {
    const sizes: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      sizes.push((JSON.parse(String(init?.body)) as { events: unknown[] }).events.length);
      return fetch(input, init);
    };
    const prefix = uniqueId("bulk");
    const events = Array.from({ length: 2500 }, (_, i) => ({ id: `${prefix}:${i}`, units: 1, tenant, surface: "bulk.export" }));
    const before = await exportUsage();
    const answer = (await reportUsage(events, { url: gw.url, token, fetch: counting })) as Answer;
    expect(answer).toEqual({ accepted: 2500, duplicates: [], rejected: [] });
    expect(sizes).toEqual([1000, 1000, 500]);
    expect((await exportUsage()).units).toBe(before.units + 2500);
  });

  test("a token without the report scope is refused, and it throws rather than retry", async () => {
    const reader = await adminCall<{ token: string }>(gw, "POST", "/tokens", { name: uniqueId("reader"), scopes: ["read"] });
    let calls = 0;
    const counting: typeof fetch = async (input, init) => {
      calls++;
      return fetch(input, init);
    };
    await expect(reportUsage([{ id: uniqueId("x"), units: 1, tenant, surface: "bulk.export" }], { url: gw.url, token: reader.body.token, fetch: counting })).rejects.toThrow(/usage report: 403/);
    expect(calls).toBe(1);
  });
});

describe("the demo origin's export jobs (npm start)", () => {
  let origin: { listen(port?: number): Promise<number>; close(): Promise<void>; reports: { job: string; event: { id: string; units: number; requestId?: string }; answer?: Answer; error?: string }[] };
  let originUrl = "";

  beforeAll(async () => {
    origin = createDemoOrigin({ reportTo: { url: gw.url, token: () => token, delayMs: 300, log: () => {} } });
    originUrl = `http://127.0.0.1:${await origin.listen(0)}`;
  });
  afterAll(() => origin.close());

  test("POST /v1/exports answers 202 queued; the rows are reported with the request id and show in the usage", async () => {
    // The gateway forwarded an export request (to the suite's own origin); this origin receives
    // it as the gateway sends it, with its Tollgate-Request-Id.
    const requestId = await exportRequest();
    const before = await exportUsage();
    const res = await fetch(`${originUrl}/v1/exports?rows=42`, { method: "POST", headers: { "Tollgate-Request-Id": requestId, "Tollgate-Tenant": tenant } });
    expect(res.status).toBe(202);
    const queued = (await res.json()) as { job: string; status: string };
    expect(queued).toEqual({ job: expect.stringMatching(/^exp_[0-9a-f]{16}$/), status: "queued" });
    expect(origin.reports).toEqual([]);

    for (let i = 0; i < 100 && origin.reports.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(origin.reports).toEqual([{ job: queued.job, event: { id: `export:${queued.job}`, units: 42, requestId }, answer: { accepted: 1, duplicates: [], rejected: [] } }]);
    expect(await exportUsage()).toEqual({ units: before.units + 42, reported: before.reported + 42 });
    const done = await fetch(`${originUrl}/v1/exports/${queued.job}`);
    expect(await done.json()).toEqual({ job: queued.job, status: "done", rows: 42 });
  });
});
