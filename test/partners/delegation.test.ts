// Partners (CONTRACT §7): grants, consent, calls on behalf of customers, attribution, statements.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { CatalogInput } from "../../src/catalog/schema";
import { admin, adminOk, call, expectProblem, loadCatalog, send, tenantWithKey } from "../support/http";

const catalog = {
  currency: "USD",
  surfaces: {
    "items.read": { routes: ["GET /items", "GET /items/:id"] },
    "items.write": { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "/items" } } },
    ledger: { routes: ["GET /ledger"], delegation: "forbidden" },
    "apps.sync": { routes: ["GET /apps/sync"], delegation: "required" },
    slow: { routes: ["GET /slow"] },
  },
  plans: {
    cust: {
      surfaces: {
        "items.read": { rule: "metered", price: { unit: "0.01" }, rate: { limit: 1000, window: 3600 } },
        "items.write": { rule: "metered", price: { unit: "0.002" }, quota: { limit: 1000, period: "month", overage: "block" } },
        ledger: { rule: "included" },
        "apps.sync": { rule: "metered", price: { unit: "0.05" } },
        slow: { rule: "metered", price: { unit: "0.001" } },
      },
      incentives: { batch: { minUnits: 10, multiplier: 0.5 } },
    },
    part: {
      surfaces: {
        "items.read": { rule: "metered", price: { unit: "0.02" } },
        "apps.sync": { rule: "metered", price: { unit: "0.04" } },
        slow: { rule: "metered", price: { unit: "0.003" } },
      },
    },
  },
} satisfies CatalogInput;

beforeAll(async () => {
  await loadCatalog(catalog);
});

type Grant = { id: string; status: string; payer: string; share: string | null; partner: string; customer: string };
type Row = { tenant: string; actor: string; payer: string; surface: string; requests: number; charged: number; rejected: number; units: number; cost: string; partnerEarnings: string; refusals: Record<string, number> };

async function parties(prefix: string) {
  const customer = await tenantWithKey({ id: `${prefix}-cust`, plan: "cust" });
  const partner = await tenantWithKey({ id: `${prefix}-app`, plan: "part", kind: "partner" });
  return { customer: { id: `${prefix}-cust`, ...customer }, partner: { id: `${prefix}-app`, ...partner } };
}

const onBehalf = (key: string, customer: string, path: string, init: RequestInit = {}) =>
  call(key, path, { ...init, headers: { ...(init.headers as Record<string, string>), "Tollgate-On-Behalf-Of": customer } });

const grant = (body: Record<string, unknown>) => adminOk<Grant>("POST", "/grants", body, 201);
const json = { "Content-Type": "application/json" };
const micros = (money: string) => Math.round(Number(money) * 1e6);

describe("grants (admin)", () => {
  it("creates an active grant with an ETag; a stale If-Match gets 412; revocation is final and stays listed", async () => {
    const { customer, partner } = await parties("g1");
    const res = await admin("POST", "/grants", { partner: partner.id, customer: customer.id, surfaces: ["items.read"], payer: "customer", share: "0.2" });
    expect(res.status).toBe(201);
    const created = await res.json<Grant>();
    expect(created).toMatchObject({ status: "active", payer: "customer", share: "0.2", requestedBy: "admin" });
    const read = await admin("GET", `/grants/${created.id}`);
    const tag = read.headers.get("ETag")!;
    await read.arrayBuffer();
    expect(tag).toMatch(/^"grant-\d+"$/);
    const patched = await send(`/_tollgate/admin/grants/${created.id}`, { method: "PATCH", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "If-Match": tag, "Content-Type": "application/json" }, body: JSON.stringify({ share: "0.25" }) });
    expect(patched.status, await patched.clone().text()).toBe(200);
    const stale = await send(`/_tollgate/admin/grants/${created.id}`, { method: "PATCH", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "If-Match": tag, "Content-Type": "application/json" }, body: JSON.stringify({ share: "0.5" }) });
    await expectProblem(stale, 412, "precondition-failed");
    expect((await adminOk<Grant>("GET", `/grants/${created.id}`)).share).toBe("0.25");
    expect((await admin("DELETE", `/grants/${created.id}`)).status).toBe(204);
    const listed = await adminOk<{ items: Grant[] }>("GET", `/grants?customer=${customer.id}`);
    expect(listed.items.map((g) => [g.id, g.status])).toEqual([[created.id, "revoked"]]);
    await expectProblem(await admin("PATCH", `/grants/${created.id}`, { status: "active" }), 409, "conflict");
  });

  it("refuses a grant whose partner is not a partner, a share with payer partner, or a share that is not a fraction", async () => {
    const { customer, partner } = await parties("g2");
    const bad = async (body: Record<string, unknown>, path: string) => {
      const p = await expectProblem(await admin("POST", "/grants", { surfaces: "*", payer: "customer", ...body }), 400, "invalid-request");
      expect((p.errors as { path: string }[]).map((e) => e.path), JSON.stringify(body)).toContain(path);
    };
    await bad({ partner: customer.id, customer: partner.id }, "/partner");
    await bad({ partner: partner.id, customer: "nobody-here" }, "/customer");
    await bad({ partner: partner.id, customer: partner.id }, "/customer");
    await bad({ partner: partner.id, customer: customer.id, payer: "partner", share: "0.1" }, "/share");
    for (const share of ["1.5", "-0.1", "0.1234567", "abc", "20%"]) await bad({ partner: partner.id, customer: customer.id, share }, "/share");
    expect((await adminOk<{ items: Grant[] }>("GET", `/grants?partner=${partner.id}`)).items).toEqual([]);
  });
});

describe("consent", () => {
  it("a partner's request is pending until the customer approves it with its own key; only the customer answers it", async () => {
    const { customer, partner } = await parties("c1");
    const other = await tenantWithKey({ id: "c1-other", plan: "cust" });
    // A partner cannot set its own share.
    await expectProblem(await call(partner.key, "/_tollgate/grants", { method: "POST", headers: json, body: JSON.stringify({ customer: customer.id, surfaces: ["items.read"], payer: "customer", share: "0.9" }) }), 400, "invalid-request");
    const asked = await call(partner.key, "/_tollgate/grants", { method: "POST", headers: json, body: JSON.stringify({ customer: customer.id, surfaces: ["items.read"], payer: "customer" }) });
    expect(asked.status, await asked.clone().text()).toBe(201);
    const pending = await asked.json<Grant>();
    expect(pending).toMatchObject({ status: "pending", share: null, requestedBy: "partner" });

    await expectProblem(await onBehalf(partner.key, customer.id, "/items"), 403, "grant-required");
    // The partner, and a stranger, cannot answer it; the stranger does not even see it.
    await expectProblem(await call(partner.key, `/_tollgate/grants/${pending.id}/approve`, { method: "POST" }), 404, "not-found");
    await expectProblem(await call(other.key, `/_tollgate/grants/${pending.id}/approve`, { method: "POST" }), 404, "not-found");
    expect((await (await call(other.key, "/_tollgate/grants")).json<{ items: Grant[] }>()).items).toEqual([]);
    expect((await (await call(customer.key, "/_tollgate/grants")).json<{ items: Grant[] }>()).items.map((g) => g.id)).toEqual([pending.id]);

    const approved = await call(customer.key, `/_tollgate/grants/${pending.id}/approve`, { method: "POST" });
    expect((await approved.json<Grant>()).status).toBe("active");
    const ok = await onBehalf(partner.key, customer.id, "/items");
    await ok.arrayBuffer();
    expect(ok.status).toBe(200);
    expect(ok.headers.get("Tollgate-Payer")).toBe(customer.id);

    // The customer revokes it: refused from the next call on.
    expect((await call(customer.key, `/_tollgate/grants/${pending.id}`, { method: "DELETE" })).status).toBe(204);
    await expectProblem(await onBehalf(partner.key, customer.id, "/items"), 403, "grant-required");
    const audit = await adminOk<{ actor: string; action: string }[]>("GET", `/audit?target=grant:${pending.id}`);
    expect(audit.map((a) => `${a.actor} ${a.action}`).reverse()).toEqual([`tenant:${partner.id} grant.request`, `tenant:${customer.id} grant.approve`, `tenant:${customer.id} grant.revoke`]);
  });

  it("a customer rejects a pending grant; a rejected grant cannot be approved", async () => {
    const { customer, partner } = await parties("c2");
    const asked = await (await call(partner.key, "/_tollgate/grants", { method: "POST", headers: json, body: JSON.stringify({ customer: customer.id, surfaces: "*", payer: "partner" }) })).json<Grant>();
    expect((await (await call(customer.key, `/_tollgate/grants/${asked.id}/reject`, { method: "POST" })).json<Grant>()).status).toBe("rejected");
    await expectProblem(await call(customer.key, `/_tollgate/grants/${asked.id}/approve`, { method: "POST" }), 409, "conflict");
    await expectProblem(await onBehalf(partner.key, customer.id, "/items"), 403, "grant-required");
  });
});

describe("a delegated call", () => {
  it("is admitted in the customer's limiter, priced by the payer's plan, and tells the origin and the client who is who", async () => {
    const { customer, partner } = await parties("d1");
    const g = await grant({ partner: partner.id, customer: customer.id, surfaces: ["items.read", "slow"], payer: "customer" });
    const res = await onBehalf(partner.key, customer.id, "/items/7");
    const seen = await res.json<{ headers: Record<string, string> }>();
    expect(res.status).toBe(200);
    expect(seen.headers["tollgate-tenant"]).toBe(customer.id);
    expect(seen.headers["tollgate-actor"]).toBe(partner.id);
    expect(seen.headers["tollgate-on-behalf-of"]).toBeUndefined();
    expect([res.headers.get("Tollgate-Payer"), res.headers.get("Tollgate-Cost")]).toEqual([customer.id, "0.01"]);
    // The customer's rate bucket paid for it.
    const limits = await adminOk<Record<string, { rate?: { remaining: number } }>>("GET", `/tenants/${customer.id}/limits`);
    expect(limits["items.read"]?.rate?.remaining).toBe(999);

    // The partner pays: its plan prices it (0.02), and must allow the surface.
    await adminOk("PATCH", `/grants/${g.id}`, { payer: "partner" });
    const paid = await onBehalf(partner.key, customer.id, "/items");
    await paid.arrayBuffer();
    expect([paid.headers.get("Tollgate-Payer"), paid.headers.get("Tollgate-Cost")]).toEqual([partner.id, "0.02"]);
    await adminOk("PATCH", `/grants/${g.id}`, { surfaces: "*" });
    const notOnPartnerPlan = await onBehalf(partner.key, customer.id, "/items", { method: "POST", body: JSON.stringify({ items: [1] }) });
    expect(notOnPartnerPlan.headers.get("Tollgate-Payer")).toBe(partner.id);
    await expectProblem(notOnPartnerPlan, 403, "surface-prohibited");
  });

  it("is refused: own key on behalf of itself, unknown customer, a surface outside the grant, delegation required or forbidden", async () => {
    const { customer, partner } = await parties("d2");
    await grant({ partner: partner.id, customer: customer.id, surfaces: ["items.read", "ledger", "apps.sync"], payer: "customer" });
    await expectProblem(await onBehalf(customer.key, customer.id, "/items"), 403, "grant-required");
    await expectProblem(await onBehalf(partner.key, "no-such-customer", "/items"), 403, "grant-required");
    await expectProblem(await onBehalf(partner.key, "bad id!", "/items"), 403, "grant-required");
    await expectProblem(await onBehalf(partner.key, customer.id, "/slow"), 403, "grant-required");
    const forbidden = await onBehalf(partner.key, customer.id, "/ledger");
    expect(forbidden.headers.get("Tollgate-Payer")).toBe(customer.id);
    await expectProblem(forbidden, 403, "delegation-forbidden");
    await expectProblem(await call(customer.key, "/apps/sync"), 403, "delegation-required");
    const own = await call(customer.key, "/ledger");
    await own.arrayBuffer();
    expect(own.status).toBe(200);
    const sync = await onBehalf(partner.key, customer.id, "/apps/sync");
    await sync.arrayBuffer();
    expect(sync.status).toBe(200);
    // A customer's own key never acts for another customer.
    const { key: otherKey } = await tenantWithKey({ id: "d2-other", plan: "cust" });
    await expectProblem(await onBehalf(otherKey, customer.id, "/items"), 403, "grant-required");
  });

  it("stops the moment the partner's key is revoked or the partner suspended, and works with a new key", async () => {
    const { customer, partner } = await parties("d3");
    await grant({ partner: partner.id, customer: customer.id, surfaces: "*", payer: "customer" });
    expect((await onBehalf(partner.key, customer.id, "/items")).status).toBe(200);
    await adminOk("DELETE", `/tenants/${partner.id}/keys/${partner.keyId}`, undefined, 204);
    await expectProblem(await onBehalf(partner.key, customer.id, "/items"), 401, "key-revoked");
    const fresh = await adminOk<{ key: string }>("POST", `/tenants/${partner.id}/keys`, {}, 201);
    const again = await onBehalf(fresh.key, customer.id, "/items");
    await again.arrayBuffer();
    expect(again.status).toBe(200);
    await adminOk("PATCH", `/tenants/${partner.id}`, { status: "suspended" });
    await expectProblem(await onBehalf(fresh.key, customer.id, "/items"), 403, "tenant-suspended");
    await adminOk("PATCH", `/tenants/${partner.id}`, { status: "active" });
    await adminOk("DELETE", `/tenants/${partner.id}`, undefined, 204);
    await expectProblem(await onBehalf(fresh.key, customer.id, "/items"), 401, "key-revoked");
  });

  it("keeps a partner's Idempotency-Keys apart from the customer's", async () => {
    const { customer, partner } = await parties("d4");
    await grant({ partner: partner.id, customer: customer.id, surfaces: "*", payer: "customer" });
    const body = JSON.stringify({ items: [1, 2] });
    const own = await call(customer.key, "/items", { method: "POST", body, headers: { "Idempotency-Key": "k1" } });
    await own.arrayBuffer();
    const theirs = await onBehalf(partner.key, customer.id, "/items", { method: "POST", body: JSON.stringify({ items: [1, 2, 3] }), headers: { "Idempotency-Key": "k1" } });
    await theirs.arrayBuffer();
    expect([own.status, theirs.status]).toEqual([200, 200]);
    expect(theirs.headers.get("Idempotent-Replayed")).toBeNull();
    const replay = await onBehalf(partner.key, customer.id, "/items", { method: "POST", body: JSON.stringify({ items: [1, 2, 3] }), headers: { "Idempotency-Key": "k1" } });
    await replay.arrayBuffer();
    expect([replay.headers.get("Idempotent-Replayed"), replay.headers.get("Tollgate-Payer")]).toEqual(["true", customer.id]);
  });
});

describe("attribution and statements", () => {
  it("rollups carry actor and payer and equal the headers each side was answered; a partner's acting view has only its calls", async () => {
    const { customer, partner } = await parties("a1");
    const g = await grant({ partner: partner.id, customer: customer.id, surfaces: "*", payer: "customer", share: "0.3" });
    const answered: { payer: string; cost: number }[] = [];
    const note = async (res: Response) => {
      await res.arrayBuffer();
      answered.push({ payer: res.headers.get("Tollgate-Payer") ?? customer.id, cost: micros(res.headers.get("Tollgate-Cost") ?? "0") });
    };
    for (let i = 0; i < 3; i++) await note(await onBehalf(partner.key, customer.id, "/items"));
    await note(await onBehalf(partner.key, customer.id, "/items", { method: "POST", body: JSON.stringify({ items: Array.from({ length: 12 }, (_, i) => i) }) }));
    await note(await call(customer.key, "/items"));
    // Payer switching mid-period: the statement splits exactly.
    await adminOk("PATCH", `/grants/${g.id}`, { payer: "partner", share: null });
    for (let i = 0; i < 2; i++) await note(await onBehalf(partner.key, customer.id, "/items"));
    await expectProblem(await onBehalf(partner.key, customer.id, "/ledger"), 403, "delegation-forbidden");

    const rows = await adminOk<Row[]>("GET", `/usage?tenant=${customer.id}&granularity=month`);
    const sum = (f: (r: Row) => boolean, field: (r: Row) => number) => rows.filter(f).reduce((n, r) => n + field(r), 0);
    for (const payer of [customer.id, partner.id]) {
      expect(sum((r) => r.payer === payer, (r) => micros(r.cost)), payer).toBe(answered.filter((a) => a.payer === payer).reduce((n, a) => n + a.cost, 0));
    }
    // 0.03 + 0.012 (12 items × 0.002 × batch 0.5) by the partner for the customer, at a 30% share.
    const byPartner = rows.filter((r) => r.actor === partner.id && r.payer === customer.id);
    expect(byPartner.reduce((n, r) => n + micros(r.cost), 0)).toBe(42_000);
    expect(byPartner.reduce((n, r) => n + micros(r.partnerEarnings), 0)).toBe(9_000 + 3_600);
    expect(rows.filter((r) => r.actor === partner.id).reduce((n, r) => n + (r.refusals["delegation-forbidden"] ?? 0), 0)).toBe(1);
    const viaActor = await adminOk<Row[]>("GET", `/usage?actor=${partner.id}&granularity=month`);
    expect(viaActor.every((r) => r.actor === partner.id)).toBe(true);

    const acting = await (await call(partner.key, "/_tollgate/usage?scope=acting&granularity=month")).json<{ items: Row[] }>();
    expect(acting.items.length).toBeGreaterThan(0);
    expect(acting.items.every((r) => r.actor === partner.id && r.tenant === customer.id)).toBe(true);
    const customerView = await (await call(customer.key, "/_tollgate/usage?granularity=month")).json<{ items: Row[] }>();
    expect(customerView.items.every((r) => r.tenant === customer.id)).toBe(true);

    const period = new Date().toISOString().slice(0, 7);
    const all = await adminOk<{ items: { tenant: string; charges: string; partnerEarnings: string; platformNet: string }[]; totals: { charges: string; partnerEarnings: string; platformNet: string } }>("GET", `/statements?period=${period}`);
    const t = all.totals;
    expect(micros(t.charges)).toBe(micros(t.partnerEarnings) + micros(t.platformNet));
    const of = (id: string) => all.items.find((s) => s.tenant === id)!;
    expect(of(customer.id)).toMatchObject({ charges: "0.052", partnerEarnings: "0", platformNet: "0.0394" });
    expect(of(partner.id)).toMatchObject({ charges: "0.04", partnerEarnings: "0.0126", platformNet: "0.04" });
    const own = await (await call(partner.key, `/_tollgate/statement?period=${period}`)).json<{ tenant: string; charges: string; partnerEarnings: string }>();
    expect(own).toMatchObject({ tenant: partner.id, charges: "0.04", partnerEarnings: "0.0126" });
  });

  it("quotes a delegated call with its payer, as the call would be answered", async () => {
    const { customer, partner } = await parties("q1");
    await grant({ partner: partner.id, customer: customer.id, surfaces: ["items.read"], payer: "partner" });
    const q = await (await call(partner.key, "/_tollgate/quote", { method: "POST", headers: json, body: JSON.stringify({ method: "GET", path: "/items", onBehalfOf: customer.id }) })).json<{ allowed: boolean; payer: string; cost: string }>();
    expect(q).toMatchObject({ allowed: true, payer: partner.id, cost: "0.02" });
    const real = await onBehalf(partner.key, customer.id, "/items");
    await real.arrayBuffer();
    expect([real.headers.get("Tollgate-Payer"), real.headers.get("Tollgate-Cost")]).toEqual([q.payer, q.cost]);
    const refused = await (await call(partner.key, "/_tollgate/quote", { method: "POST", headers: json, body: JSON.stringify({ method: "POST", path: "/items", body: { items: [1] }, onBehalfOf: customer.id }) })).json<{ allowed: boolean; problem: { type: string } }>();
    expect(refused.allowed).toBe(false);
    expect(refused.problem.type).toBe("urn:tollgate:problem:grant-required");
  });
});

describe("revocation racing delegated calls", () => {
  it("of 50 calls in flight when a grant is revoked, every one admitted after the revocation answered is refused", async () => {
    const { customer, partner } = await parties("r1");
    const g = await grant({ partner: partner.id, customer: customer.id, surfaces: "*", payer: "customer" });
    let revokedAt = Infinity;
    const calls = Array.from({ length: 50 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 4));
      const sent = performance.now();
      const res = await onBehalf(partner.key, customer.id, "/slow?delay=30");
      await res.arrayBuffer();
      return { sent, status: res.status, cost: res.headers.get("Tollgate-Cost") };
    });
    const revoke = (async () => {
      await new Promise((r) => setTimeout(r, 100));
      const res = await admin("DELETE", `/grants/${g.id}`);
      revokedAt = performance.now();
      return res.status;
    })();
    const [outcomes, status] = await Promise.all([Promise.all(calls), revoke]);
    expect(status).toBe(204);
    const after = outcomes.filter((o) => o.sent > revokedAt);
    const before = outcomes.filter((o) => o.status === 200);
    expect(after.length).toBeGreaterThan(0);
    expect(before.length).toBeGreaterThan(0);
    expect(after.every((o) => o.status === 403)).toBe(true);
    // What was admitted was charged exactly once, as answered.
    const rows = await adminOk<Row[]>("GET", `/usage?tenant=${customer.id}&surface=slow&granularity=month`);
    expect(rows.reduce((n, r) => n + r.charged, 0)).toBe(before.length);
    expect(rows.reduce((n, r) => n + (r.refusals["grant-required"] ?? 0), 0)).toBe(outcomes.length - before.length);
  });
});

describe("revocation is final in the customer's limiter", () => {
  it("no later push of the grant, whatever its revision, lets the partner call again", async () => {
    const { customer, partner } = await parties("fin");
    const g = await grant({ partner: partner.id, customer: customer.id, surfaces: "*", payer: "customer" });
    expect((await admin("DELETE", `/grants/${g.id}`)).status).toBe(204);
    await expectProblem(await onBehalf(partner.key, customer.id, "/items"), 403, "grant-required");
    // A PATCH racing the revocation would push an active state with a newer revision: refused.
    const limiter = (env.LIMITER as DurableObjectNamespace<import("../../src/limiter/tenant-limiter").TenantLimiter>).getByName(customer.id);
    expect(await limiter.putGrant({ id: g.id, partner: partner.id, surfaces: "*", payer: "customer", sharePpm: 0, status: "active", expiresAt: null, revision: Number.MAX_SAFE_INTEGER })).toBe(false);
    await expectProblem(await onBehalf(partner.key, customer.id, "/items"), 403, "grant-required");
    await expectProblem(await admin("PATCH", `/grants/${g.id}`, { status: "active" }), 409, "conflict");
  });
});
