// Partners in the dashboard and portal (CONTRACT §7, §9) in a real Chromium against a real gateway:
// a partner requests a grant with its key, the customer approves it in its portal (a click), the
// partner calls on the customer's behalf; then the dashboard shows the grant active, the calls by
// caller and payer, and statements equal to the admin API's with the books balanced; the partner's
// portal shows its statement and the calls it made for others; the dashboard approves and revokes;
// a customer's portal never shows another customer's grant.
// The tests of this file run in order: later ones rely on the grant the first one approved.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { adminCall, uniqueId } from "./support/admin";
import { launchBrowser, openPage, rowFields, signIn } from "./support/browser";

const gw = inject("gateway");
const dashboardUrl = `${gw.url}/_tollgate/dashboard`;
const portalUrl = `${gw.url}/_tollgate/portal`;
const period = new Date().toISOString().slice(0, 7);
let browser: Browser;

interface Grant {
  id: string;
  partner: string;
  customer: string;
  surfaces: string[] | "*";
  payer: "customer" | "partner";
  share: string | null;
  status: "pending" | "active" | "rejected" | "revoked";
  expiresAt: string | null;
}
interface StatementLine {
  surface: string;
  tenant: string;
  actor: string;
  payer: string;
  requests: number;
  units: number;
  charges: string;
  partnerEarnings: string;
}
interface Statement {
  tenant: string;
  period: string;
  charges: string;
  partnerEarnings: string;
  platformNet: string;
  lines: StatementLine[];
}
interface Statements {
  period: string;
  items: Statement[];
  totals: { charges: string; partnerEarnings: string; platformNet: string };
}
interface Row {
  tenant: string;
  surface: string;
  actor?: string;
  payer?: string;
  requests: number;
  units: number;
  cost: string;
  partnerEarnings?: string;
}

const customer = { id: uniqueId("pui-cust"), key: "" };
const partner = { id: uniqueId("pui-partner"), key: "" };
const other = { id: uniqueId("pui-other"), name: `Other Customer ${Math.random().toString(36).slice(2, 8)}`, key: "" };
let grant: Grant; // partner → customer, approved in the portal
let otherGrant: Grant; // partner → other customer, approved and revoked in the dashboard

/** A decimal string as integer micro-units: compared exactly, whatever the trailing zeros. */
function micros(decimal: string | null | undefined): bigint {
  const s = String(decimal ?? "").trim();
  expect(s, "a money value").toMatch(/^-?\d+(\.\d{1,6})?$/);
  const [whole, fraction = ""] = s.replace(/^-/, "").split(".");
  const m = BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
  return s.startsWith("-") ? -m : m;
}

async function tenantWithKey(id: string, kind: "customer" | "partner", plan: string, name?: string): Promise<string> {
  expect((await adminCall(gw, "POST", "/tenants", { id, kind, plan, ...(name ? { name } : {}) })).status).toBe(201);
  const key = await adminCall<{ key: string }>(gw, "POST", `/tenants/${id}/keys`, { name: "partners e2e" });
  expect(key.status).toBe(201);
  return key.body.key;
}

/** A tenant endpoint with a tenant's key. */
async function tenantCall<T>(key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${gw.url}/_tollgate${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

/** The partner asks for a grant with its own key (pending), and the admin sets its revenue share. */
async function requestGrant(customerId: string): Promise<Grant> {
  const asked = await tenantCall<Grant>(partner.key, "POST", "/grants", { customer: customerId, surfaces: ["events.feed"], payer: "customer" });
  expect(asked.status, JSON.stringify(asked.body)).toBe(201);
  expect(asked.body.status).toBe("pending");
  const read = await adminCall<Grant>(gw, "GET", `/grants/${asked.body.id}`);
  expect(read.status).toBe(200);
  const patched = await adminCall<Grant>(gw, "PATCH", `/grants/${asked.body.id}`, { share: "0.2" }, { "If-Match": read.headers.get("ETag") ?? "" });
  expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  expect(patched.body).toMatchObject({ status: "pending", share: expect.stringMatching(/^0\.20*$/) });
  return patched.body;
}

const drain = async (res: Promise<Response>) => (await res).arrayBuffer();

beforeAll(async () => {
  browser = await launchBrowser();
  customer.key = await tenantWithKey(customer.id, "customer", "growth", "Partners UI Customer");
  partner.key = await tenantWithKey(partner.id, "partner", "partner", "Partners UI Partner");
  other.key = await tenantWithKey(other.id, "customer", "growth", other.name);
  // events.feed: metered in growth (the customer pays per event), included in partner.
  grant = await requestGrant(customer.id);
  otherGrant = await requestGrant(other.id);
  // The customer's own calls, and the other customer's (so its numbers could not pass for ours).
  for (let i = 0; i < 2; i++) await drain(fetch(`${gw.url}/v1/events?events=2`, { headers: { Authorization: `Bearer ${customer.key}` } }));
  for (let i = 0; i < 3; i++) await drain(fetch(`${gw.url}/v1/events?events=7`, { headers: { Authorization: `Bearer ${other.key}` } }));
  // The partner's own calls (embed.ui is metered in its plan): it pays for these itself.
  for (let i = 0; i < 2; i++) await drain(fetch(`${gw.url}/v1/embed/widget`, { headers: { Authorization: `Bearer ${partner.key}` } }));
});

afterAll(async () => {
  await browser?.close();
});

async function portal(key: string): Promise<Awaited<ReturnType<typeof openPage>>> {
  const opened = await openPage(browser, portalUrl);
  await signIn(opened.page, key);
  await opened.page.locator("#tenant-id").waitFor();
  await opened.page.locator("#grants .section-body > :not(.loading)").first().waitFor();
  return opened;
}

async function openTenant(page: Page, id: string): Promise<void> {
  await page.locator("#tenant-search").fill(id);
  await page.locator("form.search button[type=submit]").click();
  await page.locator(`#tenant-results tr[data-tenant="${id}"] button.open-tenant`).click();
  await page.locator("#tenant-grants .section-body > :not(.loading)").first().waitFor();
  await page.locator("#tenant-usage .section-body > :not(.loading)").first().waitFor();
}

/** Sums of rollup rows, by the same dimensions the pages group by, computed here independently. */
function sums(rows: Row[]) {
  return {
    requests: String(rows.reduce((n, r) => n + r.requests, 0)),
    units: String(rows.reduce((n, r) => n + r.units, 0)),
    cost: rows.reduce((n, r) => n + micros(r.cost), 0n),
    partnerEarnings: rows.reduce((n, r) => n + micros(r.partnerEarnings ?? "0"), 0n),
  };
}

/** A breakdown row as shown: counts as text, money as micro-units. */
async function shownBreakdown(page: Page, selector: string) {
  const f = await rowFields(page, selector);
  return { requests: f.requests, units: f.units, cost: micros(f.cost), partnerEarnings: micros(f.partnerEarnings) };
}

test("the customer approves the partner's pending request in its portal, with a click", async () => {
  const { page, errors } = await portal(customer.key);
  const row = page.locator(`#grants tr[data-grant="${grant.id}"]`);
  expect(await row.getAttribute("data-status")).toBe("pending");
  expect(await rowFields(page, `#grants tr[data-grant="${grant.id}"]`)).toMatchObject({ partner: partner.id, customer: customer.id, surfaces: "events.feed", payer: "customer", status: "pending" });
  expect(await row.locator("button.reject-grant").count()).toBe(1);
  await row.locator("button.approve-grant").click();
  await page.locator(`#grants tr[data-grant="${grant.id}"][data-status="active"]`).waitFor();
  expect(await page.locator(`#grants tr[data-grant="${grant.id}"] button.revoke-grant`).count()).toBe(1);
  // The gateway agrees: the grant is active, for both sides.
  const mine = await tenantCall<{ items: Grant[] }>(customer.key, "GET", "/grants");
  expect(mine.body.items.find((g) => g.id === grant.id)?.status).toBe("active");
  const read = await adminCall<Grant>(gw, "GET", `/grants/${grant.id}`);
  expect(read.body.status).toBe("active");
  grant = read.body;
  expect(errors).toEqual([]);

  // Delegated calls now pass, in the customer's name and on its bill.
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${gw.url}/v1/events?events=3`, { headers: { Authorization: `Bearer ${partner.key}`, "Tollgate-On-Behalf-Of": customer.id } });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get("Tollgate-Payer")).toBe(customer.id);
  }
});

test("a customer's portal never shows a grant of another customer", async () => {
  const { page, requests, errors } = await portal(customer.key);
  const shown = await page.locator("#grants tr[data-grant]").evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: Record<string, string> }).dataset.grant));
  expect(shown).toContain(grant.id);
  expect(shown).not.toContain(otherGrant.id);
  for (const id of shown) {
    const f = await rowFields(page, `#grants tr[data-grant="${id}"]`);
    expect([f.partner, f.customer]).toContain(customer.id);
  }
  const text = (await page.locator("body").textContent()) ?? "";
  expect(text).not.toContain(other.id);
  expect(text).not.toContain(other.name);
  // The other customer's own portal does show its grant (so the absence above means something).
  const theirs = await portal(other.key);
  await theirs.page.locator(`#grants tr[data-grant="${otherGrant.id}"]`).waitFor();
  expect(await theirs.page.locator(`#grants tr[data-grant="${grant.id}"]`).count()).toBe(0);
  for (const r of requests) {
    const url = new URL(r.url());
    if (!url.pathname.startsWith("/_tollgate/ui/") && url.pathname !== "/_tollgate/portal") expect(r.headers()["authorization"], url.pathname).toBe(`Bearer ${customer.key}`);
  }
  expect(errors).toEqual([]);
  expect(theirs.errors).toEqual([]);
});

test("the dashboard: the grant active, the customer's usage by caller and payer, statements equal to the admin API's and balanced", async () => {
  const { page, errors } = await openPage(browser, dashboardUrl);
  await signIn(page, gw.adminToken);
  await openTenant(page, customer.id);

  const grantRow = `#tenant-grants tr[data-grant="${grant.id}"]`;
  expect(await page.locator(grantRow).getAttribute("data-status")).toBe("active");
  const g = await rowFields(page, grantRow);
  expect(g).toMatchObject({ partner: partner.id, customer: customer.id, surfaces: "events.feed", payer: "customer", status: "active", expiresAt: "never" });
  expect(micros(g.share)).toBe(200_000n);
  expect(await page.locator(`${grantRow} button.revoke-grant`).count()).toBe(1);
  expect(await page.locator(`#tenant-grants tr[data-grant="${otherGrant.id}"]`).count()).toBe(0);

  // Usage: the partner's calls on the customer's behalf have the partner as caller, the customer as payer.
  const usage = await adminCall<Row[]>(gw, "GET", `/usage?tenant=${customer.id}&granularity=day`);
  const delegated = usage.body.filter((r) => r.actor === partner.id);
  expect(delegated.length, "rollup rows carry `actor` (main's API addition)").toBeGreaterThan(0);
  expect(delegated.every((r) => r.payer === customer.id && r.tenant === customer.id)).toBe(true);
  const byPartner = `#tenant-usage table.breakdown tbody tr[data-actor="${partner.id}"][data-payer="${customer.id}"][data-surface="events.feed"]`;
  expect(await shownBreakdown(page, byPartner)).toEqual(sums(delegated));
  expect(sums(delegated).units).toBe("9"); // 3 delegated calls × 3 events
  const own = usage.body.filter((r) => (r.actor ?? r.tenant) === customer.id);
  expect(await shownBreakdown(page, `#tenant-usage table.breakdown tbody tr[data-actor="${customer.id}"][data-surface="events.feed"]`)).toEqual(sums(own));
  expect(await shownBreakdown(page, "#tenant-usage table.breakdown tfoot tr")).toEqual(sums(usage.body));

  // Statements of this month: every row, the totals and the lines equal GET /statements.
  const api = await adminCall<Statements>(gw, "GET", `/statements?period=${period}`);
  expect(api.status).toBe(200);
  await page.locator(`#statements table.statements[data-period="${period}"]`).waitFor();
  expect(await page.locator("#statements table.statements > tbody > tr[data-tenant]").count()).toBe(api.body.items.length);
  const money = (f: Record<string, string>) => ({ charges: micros(f.charges), partnerEarnings: micros(f.partnerEarnings), platformNet: micros(f.platformNet) });
  for (const st of api.body.items) {
    expect(money(await rowFields(page, `#statements table.statements > tbody > tr[data-tenant="${st.tenant}"]`)), st.tenant).toEqual(money(st as never));
  }
  expect(money(await rowFields(page, "#statements table.statements > tfoot > tr"))).toEqual(money(api.body.totals as never));
  const t = money(api.body.totals as never);
  expect(t.charges).toBe(t.partnerEarnings + t.platformNet); // the API's books balance…
  expect(await page.locator('#statements [data-field="balance"]').getAttribute("data-balanced")).toBe("true"); // …and the page says so
  expect(await page.locator('#statements [data-field="totals-disagree"]').count()).toBe(0);

  // The partner's earnings are a share of what the customer paid for its calls.
  const partnerStatement = api.body.items.find((s) => s.tenant === partner.id);
  const customerStatement = api.body.items.find((s) => s.tenant === customer.id);
  expect(partnerStatement && customerStatement, "both tenants have a statement").toBeTruthy();
  expect(micros(partnerStatement!.partnerEarnings)).toBeGreaterThan(0n);
  expect(micros(partnerStatement!.charges)).toBeGreaterThan(0n); // its own embed.ui views
  // The customer's dashboard usage and the partner's statement agree to the micro-unit.
  expect((await shownBreakdown(page, byPartner)).partnerEarnings).toBe(micros(partnerStatement!.partnerEarnings));
  expect(micros((await rowFields(page, '#tenant-usage tfoot tr[data-surface="*"]')).cost)).toBe(micros(customerStatement!.charges));

  // A statement's lines, behind their button.
  const lines = page.locator(`#statements tr[data-lines-of="${partner.id}"]`);
  expect(await lines.isVisible()).toBe(false);
  await page.locator(`#statements tr[data-tenant="${partner.id}"] button.toggle-lines`).click();
  expect(await lines.isVisible()).toBe(true);
  for (const l of partnerStatement!.lines) {
    const f = await rowFields(page, `#statements tr[data-lines-of="${partner.id}"] tr[data-surface="${l.surface}"][data-tenant="${l.tenant}"][data-actor="${l.actor}"][data-payer="${l.payer}"]`);
    expect({ requests: f.requests, units: f.units, charges: micros(f.charges), partnerEarnings: micros(f.partnerEarnings) }).toEqual({ requests: String(l.requests), units: String(l.units), charges: micros(l.charges), partnerEarnings: micros(l.partnerEarnings) });
  }
  expect(await page.locator(`#statements tr[data-lines-of="${partner.id}"] tbody tr`).count()).toBe(partnerStatement!.lines.length);

  // The partner's view: the calls it made for the customer.
  await openTenant(page, partner.id);
  await page.locator("#tenant-acting table.breakdown").waitFor();
  expect(await shownBreakdown(page, `#tenant-acting tr[data-tenant="${customer.id}"][data-payer="${customer.id}"][data-surface="events.feed"]`)).toEqual(sums(delegated));
  expect(await page.locator(`#tenant-grants tr[data-grant="${grant.id}"]`).count()).toBe(1);
  expect(errors).toEqual([]);
});

test("the statements section shows another month on request", async () => {
  const { page, requests, errors } = await openPage(browser, dashboardUrl);
  await signIn(page, gw.adminToken);
  await page.locator(`#statements table.statements[data-period="${period}"]`).waitFor();
  expect(await page.locator("#statements-period").inputValue()).toBe(period);
  await page.locator("#statements-period").fill("2001-02");
  await page.locator("#statements form.period button[type=submit]").click();
  await page.locator('#statements table.statements[data-period="2001-02"]').waitFor();
  const api = await adminCall<Statements>(gw, "GET", "/statements?period=2001-02");
  expect(await page.locator("#statements table.statements > tbody > tr[data-tenant]").count()).toBe(api.body.items.length);
  expect(requests.map((r) => new URL(r.url())).filter((u) => u.pathname === "/_tollgate/admin/statements").map((u) => u.searchParams.get("period"))).toEqual([period, "2001-02"]);
  expect(errors).toEqual([]);
});

test("the partner's portal: its statement equals GET /_tollgate/statement, its calls for others equal ?scope=acting, its quote names the payer", async () => {
  const { page, errors } = await portal(partner.key);
  const api = await tenantCall<Statement>(partner.key, "GET", `/statement?period=${period}`);
  expect(api.status, JSON.stringify(api.body)).toBe(200);
  await page.locator(`#statement table.statement[data-period="${period}"]`).waitFor();
  const shown = await rowFields(page, "#statement table.statement");
  expect({ charges: micros(shown.charges), partnerEarnings: micros(shown.partnerEarnings), platformNet: micros(shown.platformNet) }).toEqual({
    charges: micros(api.body.charges),
    partnerEarnings: micros(api.body.partnerEarnings),
    platformNet: micros(api.body.platformNet),
  });
  expect(micros(shown.partnerEarnings)).toBeGreaterThan(0n);
  expect(micros(shown.charges)).toBeGreaterThan(0n);
  // …and equals the admin's statement of the partner.
  const admin = await adminCall<Statements>(gw, "GET", `/statements?period=${period}&tenant=${partner.id}`);
  expect(micros(admin.body.items.find((s) => s.tenant === partner.id)?.partnerEarnings)).toBe(micros(api.body.partnerEarnings));
  expect(await page.locator("#statement table.statement-lines tbody tr").count()).toBe(api.body.lines.length);

  const acting = await tenantCall<{ items: Row[] }>(partner.key, "GET", "/usage?scope=acting&granularity=day");
  expect(acting.status).toBe(200);
  expect(acting.body.items.length).toBeGreaterThan(0);
  expect(acting.body.items.every((r) => r.actor === partner.id && r.tenant === customer.id)).toBe(true);
  await page.locator("#acting table.breakdown").waitFor();
  expect(await shownBreakdown(page, `#acting tr[data-tenant="${customer.id}"][data-payer="${customer.id}"][data-surface="events.feed"]`)).toEqual(sums(acting.body.items));
  expect((await shownBreakdown(page, "#acting tfoot tr")).units).toBe("9");

  // The partner sees its requests (both customers') and may revoke; it cannot approve.
  await page.locator(`#grants tr[data-grant="${otherGrant.id}"]`).waitFor();
  expect(await page.locator(`#grants tr[data-grant="${grant.id}"] button.revoke-grant`).count()).toBe(1);
  expect(await page.locator("#grants button.approve-grant").count()).toBe(0);

  // The quote form: on behalf of the customer, the customer pays; as itself, the partner does.
  const ask = async (onBehalfOf: string) => {
    await page.locator("#quote-path").fill("/v1/events");
    await page.locator("#quote-on-behalf-of").fill(onBehalfOf);
    await page.locator("form.quote button[type=submit]").click();
    await page.locator("#quote-result table.quote-answer").waitFor();
    const f = await rowFields(page, "#quote-result table.quote-answer");
    await page.locator("#quote-result").evaluate((el: { replaceChildren(): void }) => el.replaceChildren());
    return f;
  };
  const quote = async (body: Record<string, unknown>) => (await tenantCall<{ payer: string; allowed: boolean }>(partner.key, "POST", "/quote", { method: "GET", path: "/v1/events", ...body })).body;
  const delegatedQuote = await quote({ onBehalfOf: customer.id });
  expect(delegatedQuote.payer).toBe(customer.id);
  expect(await ask(customer.id)).toMatchObject({ allowed: delegatedQuote.allowed ? "yes" : "no", payer: customer.id });
  const ownQuote = await quote({});
  expect(await ask("")).toMatchObject({ allowed: ownQuote.allowed ? "yes" : "no", payer: ownQuote.payer ?? "—" });
  expect(errors).toEqual([]);
});

test("books that do not balance are said not to", async () => {
  // The gateway's books always balance, so the page is handed an answer one micro-unit off.
  const { page, errors } = await openPage(browser, dashboardUrl);
  await page.route(/\/_tollgate\/admin\/statements\?/, async (route) => {
    const real = (await (await route.fetch()).json()) as Statements;
    const first = real.items.find((st) => st.tenant === customer.id)!;
    first.charges = String((Number(micros(first.charges)) + 1) / 1e6);
    await route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(real) });
  });
  await signIn(page, gw.adminToken);
  const balance = page.locator('#statements [data-field="balance"]');
  await balance.waitFor();
  expect(await balance.getAttribute("data-balanced")).toBe("false");
  expect(await balance.textContent()).toContain("do not balance (off by 0.000001)");
  expect(await page.locator('#statements [data-field="totals-disagree"]').count()).toBe(1); // the API's totals were not changed
  expect(errors).toEqual([]);
});

describe("the dashboard's grant actions", () => {
  test("approves a pending grant (If-Match from the grant's ETag) and revokes an active one", async () => {
    const { page, requests, errors } = await openPage(browser, dashboardUrl);
    await signIn(page, gw.adminToken);
    await openTenant(page, other.id);
    const row = `#tenant-grants tr[data-grant="${otherGrant.id}"]`;
    expect(await page.locator(row).getAttribute("data-status")).toBe("pending");
    await page.locator(`${row} button.approve-grant`).click();
    await page.locator(`${row}[data-status="active"]`).waitFor();
    expect((await adminCall<Grant>(gw, "GET", `/grants/${otherGrant.id}`)).body.status).toBe("active");
    const patch = requests.find((r) => r.method() === "PATCH");
    expect(patch?.url()).toBe(`${gw.url}/_tollgate/admin/grants/${otherGrant.id}`);
    expect(patch?.headers()["if-match"]).toMatch(/^(W\/)?".+"$/);

    await page.locator(`${row} button.revoke-grant`).click();
    await page.locator(`${row}[data-status="revoked"]`).waitFor();
    expect((await adminCall<Grant>(gw, "GET", `/grants/${otherGrant.id}`)).body.status).toBe("revoked");
    expect(await page.locator(`${row} button`).count()).toBe(0);
    // Revoked from the next request on.
    const res = await fetch(`${gw.url}/v1/events`, { headers: { Authorization: `Bearer ${partner.key}`, "Tollgate-On-Behalf-Of": other.id } });
    await res.arrayBuffer();
    expect(res.status).toBe(403);
    expect(errors).toEqual([]);
  });

  test("a read-only token's approval is refused with the problem shown, and nothing changes", async () => {
    const pending = await requestGrant(other.id);
    const token = await adminCall<{ token: string }>(gw, "POST", "/tokens", { name: uniqueId("pui-reader"), scopes: ["read"] });
    const { page, errors } = await openPage(browser, dashboardUrl);
    await signIn(page, token.body.token);
    await openTenant(page, other.id);
    await page.locator(`#tenant-grants tr[data-grant="${pending.id}"] button.approve-grant`).click();
    const problem = page.locator("#tenant-grants .grant-status .problem");
    await problem.waitFor();
    expect(await problem.textContent()).toMatch(/^403: /);
    expect((await adminCall<Grant>(gw, "GET", `/grants/${pending.id}`)).body.status).toBe("pending");
    expect(errors.filter((e) => !/status of 403/.test(e))).toEqual([]);
  });
});
