// The dashboard (CONTRACT §9) in a real Chromium against a real gateway: sign-in with the admin
// token, tenant search, a tenant's usage (chart and numbers equal to the admin API's), limits,
// keys, refusals, incentives; catalog versions with their diff; no request leaves the gateway;
// a tenant's name is shown as text.
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { describeChange, type CatalogChange } from "../../src/catalog/diff";
import { adminCall, uniqueId } from "./support/admin";
import { countsShown, launchBrowser, openPage, rowFields, signIn, type Canvas, type ChartFigure, type DomElement } from "./support/browser";
import { countsOf, sendTraffic, totalsOf, type UsageRow } from "./support/usage";

const gw = inject("gateway");
const dashboardUrl = `${gw.url}/_tollgate/dashboard`;
let browser: Browser;
let tenant: string;
let keyPrefix: string;

beforeAll(async () => {
  browser = await launchBrowser();
  tenant = uniqueId("dash");
  expect((await adminCall(gw, "POST", "/tenants", { id: tenant, name: "Dashboard Test Co", kind: "customer", plan: "growth" })).status).toBe(201);
  const key = await adminCall<{ key: string; prefix: string }>(gw, "POST", `/tenants/${tenant}/keys`, { name: "dashboard e2e" });
  keyPrefix = key.body.prefix;
  await sendTraffic(gw.url, key.body.key);
});

afterAll(async () => {
  await browser?.close();
});

/** Opens the dashboard, signs in, searches the tenant and opens it; waits for its sections. */
async function openTenant(page: Page, id: string, token = gw.adminToken): Promise<void> {
  await signIn(page, token);
  await page.locator("#tenant-search").fill(id);
  await page.locator("form.search button[type=submit]").click();
  await page.locator(`#tenant-results tr[data-tenant="${id}"] button.open-tenant`).click();
  await page.locator("#tenant-usage table.usage-totals").waitFor();
  await page.locator("#tenant-keys table.keys").waitFor();
}

test("asks for the admin token, shows the problem of a wrong one and asks again, then keeps it for the session", async () => {
  const { page, errors } = await openPage(browser, dashboardUrl);
  await signIn(page, "not-the-token");
  const problem = page.locator("#login .problem");
  await problem.waitFor();
  const expected = await adminCall<{ detail: string }>({ ...gw, adminToken: "not-the-token" }, "GET", "/catalog/versions");
  expect(expected.status).toBe(401);
  expect(await problem.textContent()).toBe(expected.body.detail);
  await signIn(page, gw.adminToken);
  await page.locator("#tenant-search").waitFor();
  await page.reload();
  await page.locator("#tenant-search").waitFor(); // no second sign-in in the same session
  expect(await page.locator("#login").count()).toBe(0);
  expect(errors).toEqual([]);
});

test("a tenant's usage: the chart is drawn and every number equals GET /_tollgate/admin/usage", async () => {
  const { page, errors } = await openPage(browser, dashboardUrl);
  await openTenant(page, tenant);
  const usage = await adminCall<UsageRow[]>(gw, "GET", `/usage?tenant=${tenant}&granularity=day`);
  const rows = usage.body;
  expect(rows.length).toBeGreaterThan(0);

  // Totals over all surfaces, and per surface.
  expect(await rowFields(page, '#tenant-usage tfoot tr[data-surface="*"]')).toEqual(totalsOf(rows));
  for (const surface of new Set(rows.map((r) => r.surface))) {
    expect(await rowFields(page, `#tenant-usage tbody tr[data-surface="${surface}"]`), surface).toEqual(totalsOf(rows.filter((r) => r.surface === surface)));
  }
  expect(Number(totalsOf(rows).units)).toBeGreaterThanOrEqual(9); // 3 × 2 events + 3 records really were sent

  // The chart: uPlot's canvas, its series holding the same sums, and the requests line actually painted.
  const chart = await page.locator('figure[data-chart="usage"]').evaluate((figure: ChartFigure) => {
    const u = figure.uplot;
    const canvas = figure.querySelector("canvas") as unknown as Canvas;
    const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let requestsBlue = 0; // the requests series' stroke, #2563eb
    for (let i = 0; i < pixels.length; i += 4) {
      if (Math.abs(pixels[i]! - 0x25) < 24 && Math.abs(pixels[i + 1]! - 0x63) < 24 && Math.abs(pixels[i + 2]! - 0xeb) < 24 && pixels[i + 3]! > 200) requestsBlue++;
    }
    const sum = (s: (number | null)[]) => s.reduce<number>((n, v) => n + (v ?? 0), 0);
    return { points: u.data[0]!.length, requests: sum(u.data[1]!), units: sum(u.data[3]!), requestsBlue };
  });
  expect(chart.points).toBe(new Set(rows.map((r) => r.periodStart)).size);
  expect(String(chart.requests)).toBe(totalsOf(rows).requests);
  expect(String(chart.units)).toBe(totalsOf(rows).units);
  expect(chart.requestsBlue).toBeGreaterThan(10);

  // Incentives and money saved.
  expect(await page.locator('#tenant-incentives [data-field="savings-total"]').textContent()).toBe(totalsOf(rows).savings);
  expect(Number(totalsOf(rows).savings)).toBeGreaterThan(0); // the Idempotency-Key write saved money
  const incentives = await countsShown(page, '#tenant-incentives table[data-kind="incentives"] tbody tr');
  expect(incentives).toEqual(countsOf(rows, "incentives"));
  expect(incentives["idempotency-key"]).toBe(1);

  // Refusals by code and early retries.
  expect(rows.every((r) => r.refusals !== undefined), "rollup rows carry `refusals` (main's API addition)").toBe(true);
  const refusals = await countsShown(page, '#tenant-refusals table[data-kind="refusals"] tbody tr');
  expect(refusals).toEqual(countsOf(rows, "refusals"));
  expect(Object.keys(refusals)).toEqual(expect.arrayContaining(["premium-required", "rate-limited"]));
  expect(await page.locator('#tenant-refusals [data-field="rejected-total"]').textContent()).toBe(totalsOf(rows).rejected);
  expect(await page.locator('#tenant-refusals [data-field="early-retries-total"]').textContent()).toBe(totalsOf(rows).earlyRetries);
  expect(errors).toEqual([]);
});

test("a tenant's limits now, quota burn-down and keys", async () => {
  const { page, errors } = await openPage(browser, dashboardUrl);
  await openTenant(page, tenant);
  await page.locator("#tenant-limits table.limits").waitFor();
  const limits = await adminCall<Record<string, { rate?: { limit: number }; quota?: { limit: number; used: number; remaining: number } }>>(gw, "GET", `/tenants/${tenant}/limits`);
  for (const [surface, l] of Object.entries(limits.body)) {
    const shown = await rowFields(page, `#tenant-limits tr[data-surface="${surface}"]`);
    expect(shown.rateLimit, surface).toBe(l.rate ? String(l.rate.limit) : "—");
    expect(shown.quotaLimit, surface).toBe(l.quota ? String(l.quota.limit) : "—");
    expect(shown.quotaUsed, surface).toBe(l.quota ? String(l.quota.used) : "—");
    expect(shown.quotaRemaining, surface).toBe(l.quota ? String(l.quota.remaining) : "—");
  }
  expect(limits.body["events.feed"]?.quota?.used).toBe(6);

  // One burn-down chart per surface with a quota: cumulative units against the limit.
  const withQuota = Object.entries(limits.body).filter(([, l]) => l.quota);
  expect(await page.locator('#tenant-quota figure[data-chart^="quota-"]').count()).toBe(withQuota.length);
  const burn = await page.locator('figure[data-chart="quota-events.feed"]').evaluate((figure: ChartFigure) => {
    const data = figure.uplot.data;
    return { used: data[1]!.filter((v) => v !== null).at(-1), limit: data[2]![0] };
  });
  expect(burn).toEqual({ used: 6, limit: limits.body["events.feed"]!.quota!.limit });

  const keys = page.locator("#tenant-keys table.keys tbody tr");
  expect(await keys.count()).toBe(1);
  expect(await keys.first().textContent()).toContain(keyPrefix);
  expect(await keys.first().textContent()).toContain("dashboard e2e");
  expect(errors).toEqual([]);
});

test("catalog versions and the diff of one, worded as describeChange words it", async () => {
  const demo = JSON.parse(readFileSync("examples/demo-catalog.json", "utf8"));
  const edited = structuredClone(demo);
  edited.plans.growth.surfaces["events.feed"].price.unit = "0.0002";
  let editedVersion: number;
  try {
    const put = await adminCall<{ version: number }>(gw, "PUT", "/catalog", edited);
    expect(put.status).toBe(200);
    editedVersion = put.body.version;
  } finally {
    expect((await adminCall(gw, "PUT", "/catalog", demo)).status).toBe(200); // other files rely on the demo catalog
  }
  const { page, errors } = await openPage(browser, dashboardUrl);
  await signIn(page, gw.adminToken);
  await page.locator(`#catalog tr[data-version="${editedVersion}"] button.show-diff`).click();
  const lines = page.locator(`#catalog-diff ul.diff[data-to="${editedVersion}"] li`);
  await lines.first().waitFor();
  const diff = await adminCall<{ changes: CatalogChange[] }>(gw, "GET", `/catalog/diff?from=${editedVersion - 1}&to=${editedVersion}`);
  expect(diff.status).toBe(200);
  expect(await lines.allTextContents()).toEqual(diff.body.changes.map(describeChange));
  expect(await lines.allTextContents()).toEqual(['~ price /plans/growth/surfaces/events.feed/price: {"unit":"0.0001"} → {"unit":"0.0002"}']);
  const versions = await adminCall<{ version: number }[]>(gw, "GET", "/catalog/versions");
  expect(await page.locator("#catalog table.versions tbody tr").count()).toBe(versions.body.length);
  expect(errors).toEqual([]);
});

test("a tenant's recommendations, and a pasted catalog simulated: both equal the admin API's answers", async () => {
  const { page, errors } = await openPage(browser, dashboardUrl);
  await openTenant(page, tenant);
  const recs = await adminCall<{ code: string; surface: string; savings: string | null }[]>(gw, "GET", `/tenants/${tenant}/recommendations`);
  expect(recs.status).toBe(200);
  // sendTraffic writes 3 records in one call, below growth's batch minimum of 10.
  expect(recs.body.map((r) => `${r.code} ${r.surface}`)).toContain("use-batching records.write");
  const shown = page.locator("#tenant-recommendations table.recommendations tbody tr");
  await shown.first().waitFor();
  const rows = await shown.evaluateAll((trs: DomElement[]) => trs.map((tr) => `${tr.dataset.code} ${tr.dataset.surface} ${tr.querySelector("[data-field=savings]")!.textContent}`));
  expect(rows).toEqual(recs.body.map((r) => `${r.code} ${r.surface} ${r.savings ?? "unknown"}`));

  const demo = JSON.parse(readFileSync("examples/demo-catalog.json", "utf8"));
  const doubled = structuredClone(demo);
  doubled.plans.growth.surfaces["events.feed"].price.unit = "0.0002";
  await page.locator("#simulate-catalog").fill(JSON.stringify(doubled));
  await page.locator("#simulate-tenants").fill(tenant);
  await page.locator("#simulate-form button[type=submit]").click();
  await page.locator("#simulate-result table.simulation").waitFor();
  const sim = await adminCall<{ items: { tenant: string; surface: string; current: { cost: string; refusals: number }; candidate: { cost: string; refusals: number }; delta: string }[]; totals: { delta: string } }>(gw, "POST", "/catalog/simulate", { catalog: doubled, tenants: [tenant] });
  expect(sim.status).toBe(200);
  const events = sim.body.items.find((i) => i.surface === "events.feed")!;
  expect(events.delta).toBe(events.current.cost); // the price doubled: the delta is the cost again
  for (const item of sim.body.items) {
    expect(await rowFields(page, `#simulate-result tr[data-tenant="${tenant}"][data-surface="${item.surface}"]`), item.surface).toEqual({
      "current-cost": item.current.cost,
      "current-refusals": String(item.current.refusals),
      "candidate-cost": item.candidate.cost,
      "candidate-refusals": String(item.candidate.refusals),
      delta: item.delta,
    });
  }
  expect(await page.locator("#simulate-result tfoot [data-field=delta]").textContent()).toBe(sim.body.totals.delta);
  expect(await page.locator("#simulate-result [data-field=stranded]").textContent()).toContain("none");

  // An invalid catalog: every issue listed.
  await page.locator("#simulate-catalog").fill(JSON.stringify({ currency: "usd", surfaces: {}, plans: {} }));
  await page.locator("#simulate-form button[type=submit]").click();
  await page.locator("#simulate-result ul.issues li").first().waitFor();
  expect(await page.locator("#simulate-result ul.issues li").allTextContents()).toEqual([expect.stringMatching(/^\/catalog\/currency: /)]);
  expect(errors.filter((e) => !/400/.test(e))).toEqual([]);
});

test("the dashboard makes no request to any origin but the gateway's", async () => {
  const { page, requests, errors } = await openPage(browser, dashboardUrl);
  await openTenant(page, tenant);
  await page.locator('#tenant-quota figure[data-chart^="quota-"]').first().waitFor();
  await page.locator("#catalog-diff ul.diff, #catalog-diff .empty").first().waitFor();
  const origin = new URL(gw.url).origin;
  expect(requests.length).toBeGreaterThan(8);
  expect(requests.map((r) => r.url()).filter((u) => new URL(u).origin !== origin)).toEqual([]);
  // and every data call carried the token
  for (const r of requests.filter((r) => new URL(r.url()).pathname.startsWith("/_tollgate/admin/"))) {
    expect(r.headers()["authorization"], r.url()).toBe(`Bearer ${gw.adminToken}`);
  }
  expect(errors).toEqual([]);
});

describe("tenant names are user input", () => {
  test("a name carrying markup is shown as text, never run", async () => {
    const id = uniqueId("xss");
    const name = `<img src=x onerror="window.__xss=1">`;
    expect((await adminCall(gw, "POST", "/tenants", { id, name, kind: "customer", plan: "starter" })).status).toBe(201);
    const { page, requests, errors } = await openPage(browser, dashboardUrl);
    await signIn(page, gw.adminToken);
    await page.locator("#tenant-search").fill(id);
    await page.locator("form.search button[type=submit]").click();
    const cell = page.locator(`#tenant-results tr[data-tenant="${id}"] td.tenant-name`);
    await cell.waitFor();
    expect(await cell.textContent()).toBe(name);
    await page.locator(`#tenant-results tr[data-tenant="${id}"] button.open-tenant`).click();
    await page.locator("#tenant-title .tenant-name").waitFor();
    expect(await page.locator("#tenant-title .tenant-name").textContent()).toBe(name);
    await page.locator("#tenant-keys .section-body > :not(.loading)").first().waitFor();
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(requests.filter((r) => new URL(r.url()).pathname === "/x")).toEqual([]);
    expect(errors).toEqual([]);
  });
});

test("search asks the server (?q=) and matches a name whatever its case", async () => {
  const { page, requests, errors } = await openPage(browser, dashboardUrl);
  await signIn(page, gw.adminToken);
  await page.locator("#tenant-search").fill("DASHBOARD TEST co");
  await page.locator("form.search button[type=submit]").click();
  await page.locator(`#tenant-results tr[data-tenant="${tenant}"]`).waitFor();
  expect(await page.locator("#tenant-results tbody tr").count()).toBe(1);
  const searched = requests.map((r) => new URL(r.url())).filter((u) => u.pathname === "/_tollgate/admin/tenants");
  expect(searched.map((u) => u.searchParams.get("q"))).toContain("DASHBOARD TEST co");
  expect(errors).toEqual([]);
});

test("a read-only admin token is enough to see everything", async () => {
  const token = await adminCall<{ token: string }>(gw, "POST", "/tokens", { name: uniqueId("dash-reader"), scopes: ["read"] });
  expect(token.status).toBe(201);
  const { page, requests, errors } = await openPage(browser, dashboardUrl);
  await openTenant(page, tenant, token.body.token);
  expect(await page.locator("#tenant-usage tfoot tr[data-surface='*'] [data-field=requests]").textContent()).not.toBe("0");
  for (const r of requests.filter((r) => new URL(r.url()).pathname.startsWith("/_tollgate/admin/"))) {
    expect(r.method(), r.url()).toBe("GET");
    expect(r.headers()["authorization"]).toBe(`Bearer ${token.body.token}`);
  }
  expect(errors).toEqual([]);
});
