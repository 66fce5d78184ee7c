// The tenant portal (CONTRACT §9) in a real Chromium against a real gateway: the tenant's own key,
// its usage equal to GET /_tollgate/usage, its limits, its recommendations, the quote form, and never another
// tenant's data. Grants, statements and calls for others: test/e2e/partners-ui.test.ts.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { adminCall, uniqueId } from "./support/admin";
import { launchBrowser, openPage, rowFields, signIn, type ChartFigure, type DomElement } from "./support/browser";
import { sendTraffic, totalsOf, type UsageRow } from "./support/usage";

const gw = inject("gateway");
const portalUrl = `${gw.url}/_tollgate/portal`;
let browser: Browser;
const mine = { id: uniqueId("portal-a"), key: "" };
const theirs = { id: uniqueId("portal-b"), name: `Other Tenant ${Math.random().toString(36).slice(2, 8)}`, key: "" };

async function tenantWithKey(id: string, name: string): Promise<string> {
  expect((await adminCall(gw, "POST", "/tenants", { id, name, kind: "customer", plan: "growth" })).status).toBe(201);
  return (await adminCall<{ key: string }>(gw, "POST", `/tenants/${id}/keys`, {})).body.key;
}

async function ownUsage(key: string): Promise<{ tenant: string; items: UsageRow[]; limits: Record<string, { rate?: { limit: number }; quota?: { used: number; limit: number } }> }> {
  const res = await fetch(`${gw.url}/_tollgate/usage?granularity=day`, { headers: { Authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return res.json() as never;
}

beforeAll(async () => {
  browser = await launchBrowser();
  mine.key = await tenantWithKey(mine.id, "Portal Test Co");
  theirs.key = await tenantWithKey(theirs.id, theirs.name);
  await sendTraffic(gw.url, mine.key);
  // The other tenant's traffic differs (more events), so its numbers could not pass for ours.
  for (let i = 0; i < 4; i++) await (await fetch(`${gw.url}/v1/events?events=5`, { headers: { Authorization: `Bearer ${theirs.key}` } })).arrayBuffer();
});

afterAll(async () => {
  await browser?.close();
});

async function signedIn(): Promise<{ page: Page; requests: { url(): string; headers(): Record<string, string> }[]; errors: string[] }> {
  const opened = await openPage(browser, portalUrl);
  await signIn(opened.page, mine.key);
  await opened.page.locator("#usage table.usage-totals").waitFor();
  await opened.page.locator("#limits table.limits").waitFor();
  return opened;
}

test("a wrong key is refused with the problem's words and asked for again", async () => {
  const { page } = await openPage(browser, portalUrl);
  await signIn(page, "tg_not_a_key");
  await page.locator("#login .problem").waitFor();
  const res = await fetch(`${gw.url}/_tollgate/usage`, { headers: { Authorization: "Bearer tg_not_a_key" } });
  expect(res.status).toBe(401);
  expect(await page.locator("#login .problem").textContent()).toBe(((await res.json()) as { detail: string }).detail);
});

test("the tenant's usage and limits equal GET /_tollgate/usage with its key", async () => {
  const { page, errors } = await signedIn();
  const usage = await ownUsage(mine.key);
  expect(usage.tenant).toBe(mine.id);
  expect(await page.locator("#tenant-id").textContent()).toBe(mine.id);
  expect(await rowFields(page, '#usage tfoot tr[data-surface="*"]')).toEqual(totalsOf(usage.items));
  for (const surface of new Set(usage.items.map((r) => r.surface))) {
    expect(await rowFields(page, `#usage tbody tr[data-surface="${surface}"]`), surface).toEqual(totalsOf(usage.items.filter((r) => r.surface === surface)));
  }
  expect(totalsOf(usage.items).units).toBe("10"); // 3 × 2 events + 3 records + 1 admin action
  const points = await page.locator('figure[data-chart="usage"]').evaluate((f: ChartFigure) => f.uplot.data[1]!.reduce<number>((n, v) => n + (v ?? 0), 0));
  expect(String(points)).toBe(totalsOf(usage.items).requests);

  for (const [surface, l] of Object.entries(usage.limits)) {
    const shown = await rowFields(page, `#limits tr[data-surface="${surface}"]`);
    expect(shown.rateLimit, surface).toBe(l.rate ? String(l.rate.limit) : "—");
    expect(shown.quotaUsed, surface).toBe(l.quota ? String(l.quota.used) : "—");
  }
  expect(errors).toEqual([]);
});

test("the tenant's recommendations equal GET /_tollgate/recommendations with its key", async () => {
  const { page, errors } = await signedIn();
  const res = await fetch(`${gw.url}/_tollgate/recommendations`, { headers: { Authorization: `Bearer ${mine.key}` } });
  expect(res.status).toBe(200);
  const recs = (await res.json()) as { code: string; surface: string; savings: string | null }[];
  expect(recs.map((r) => `${r.code} ${r.surface}`)).toContain("use-batching records.write"); // 3 records in one call, below 10
  const shown = page.locator("#recommendations table.recommendations tbody tr");
  await shown.first().waitFor();
  const rows = await shown.evaluateAll((trs: DomElement[]) => trs.map((tr) => `${tr.dataset.code} ${tr.dataset.surface} ${tr.querySelector("[data-field=savings]")!.textContent}`));
  expect(rows).toEqual(recs.map((r) => `${r.code} ${r.surface} ${r.savings ?? "unknown"}`));
  expect(errors).toEqual([]);
});

test("the quote form answers as POST /_tollgate/quote does", async () => {
  const { page, errors } = await signedIn();
  const ask = async (method: string, path: string, body: string) => {
    await page.locator("#quote-method").selectOption(method);
    await page.locator("#quote-path").fill(path);
    await page.locator("#quote-body").fill(body);
    await page.locator("form.quote button[type=submit]").click();
    await page.locator("#quote-result table.quote-answer").waitFor();
    const shown = await rowFields(page, "#quote-result table.quote-answer");
    await page.locator("#quote-result").evaluate((el: { replaceChildren(): void }) => el.replaceChildren());
    return shown;
  };

  const events = await ask("GET", "/v1/events", "");
  expect(events).toMatchObject({ allowed: "yes", surface: "events.feed", rule: "metered", incentives: "none" });
  expect(events.units).toBe("known only from the response"); // counted from the origin's Events-Delivered header

  const records = await ask("POST", "/v1/records", JSON.stringify({ records: [{ id: 1 }, { id: 2 }, { id: 3 }] }));
  const api = await fetch(`${gw.url}/_tollgate/quote`, {
    method: "POST",
    headers: { Authorization: `Bearer ${mine.key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ method: "POST", path: "/v1/records", body: { records: [{ id: 1 }, { id: 2 }, { id: 3 }] } }),
  });
  const quote = (await api.json()) as { units: number; cost: string; unit: string; surface: string };
  expect(records).toMatchObject({ allowed: "yes", surface: quote.surface, units: `${quote.units} ${quote.unit}`, cost: quote.cost });
  expect(records.units).toBe("3 record");

  const refused = await ask("POST", "/v1/exports", "");
  expect(refused.allowed).toBe("no");
  expect(refused.problem).toMatch(/^premium-required: /);
  expect(errors).toEqual([]);
});

test("never another tenant's data: only the tenant endpoints, only its own key, none of their names or numbers", async () => {
  const { page, requests, errors } = await signedIn();
  const text = (await page.locator("body").textContent()) ?? "";
  expect(text).toContain(mine.id);
  expect(text).not.toContain(theirs.id);
  expect(text).not.toContain(theirs.name);
  const origin = new URL(gw.url).origin;
  for (const r of requests) {
    const url = new URL(r.url());
    expect(url.origin).toBe(origin);
    expect(url.pathname, url.pathname).toMatch(/^\/_tollgate\/(portal|ui\/[\w.-]+|usage|quote|grants|statement|recommendations)$/);
    if (!/^\/_tollgate\/(portal|ui\/)/.test(url.pathname)) expect(r.headers()["authorization"], url.pathname).toBe(`Bearer ${mine.key}`);
  }
  // The other tenant's own portal shows its own numbers, not ours.
  const theirUsage = await ownUsage(theirs.key);
  expect(totalsOf(theirUsage.items).units).toBe("20");
  expect(await rowFields(page, '#usage tfoot tr[data-surface="*"]')).not.toEqual(totalsOf(theirUsage.items));
  expect(errors).toEqual([]);
});
