// Webhooks end to end with the real clock (CONTRACT §8): an admin change emits its event, the
// hub's alarm delivers it to a receiver at the demo origin, signed so that the standardwebhooks
// package's own verifier accepts it, once.
import { afterEach, describe, expect, it } from "vitest";
import { admin, adminOk, tenantWithKey } from "../support/http";
import { attemptsOf, createEndpoint, receiver, runHubAlarm, verified, type CreatedEndpoint } from "../support/webhooks";

const created: string[] = [];
const endpoint = async (body: { url: string; events: string[]; description?: string }): Promise<CreatedEndpoint> => {
  const e = await createEndpoint(body);
  created.push(e.id);
  return e;
};

// Each test's endpoints are deleted after it, so no test receives another's events.
afterEach(async () => {
  for (const id of created.splice(0)) await (await admin("DELETE", `/webhooks/${id}`)).arrayBuffer();
});

describe("webhook endpoints (admin)", () => {
  it("creates an endpoint with a whsec_ secret shown once; lists it without the secret; deletes it", async () => {
    const hook = receiver();
    const res = await admin("POST", "/webhooks", { url: hook.url(), events: ["tenant.updated", "grant.updated"], description: "ops" });
    expect(res.status).toBe(201);
    const e = await res.json<CreatedEndpoint>();
    expect(e).toMatchObject({ url: hook.url(), events: ["tenant.updated", "grant.updated"], description: "ops" });
    expect(e.id).toMatch(/^we_[0-9A-Za-z]{20}$/);
    // Standard Webhooks secrets: whsec_ and base64 of 24 random bytes.
    expect(e.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(atob(e.secret.slice("whsec_".length))).toHaveLength(24);
    expect(Number.isNaN(Date.parse(e.createdAt))).toBe(false);

    const listed = await adminOk<Record<string, unknown>[]>("GET", "/webhooks");
    const mine = listed.find((x) => x.id === e.id);
    expect(mine).toEqual({ id: e.id, url: e.url, events: e.events, description: "ops", createdAt: e.createdAt });
    expect(JSON.stringify(listed)).not.toContain(e.secret);

    const audit = await adminOk<{ action: string; after: unknown }[]>("GET", `/audit?target=webhook:${e.id}`);
    expect(audit.map((a) => a.action)).toEqual(["webhook.create"]);
    expect(JSON.stringify(audit)).not.toContain(e.secret);

    expect((await admin("DELETE", `/webhooks/${e.id}`)).status).toBe(204);
    expect((await adminOk<{ id: string }[]>("GET", "/webhooks")).map((x) => x.id)).not.toContain(e.id);
    const again = await admin("DELETE", `/webhooks/${e.id}`);
    expect(again.status).toBe(404);
    await again.arrayBuffer();
    const log = await admin("GET", `/webhooks/${e.id}/deliveries`);
    expect(log.status).toBe(404);
    await log.arrayBuffer();
    expect((await adminOk<{ action: string }[]>("GET", `/audit?target=webhook:${e.id}`)).map((a) => a.action)).toEqual(["webhook.delete", "webhook.create"]);
  });
});

describe("tenant.updated", () => {
  it("a tenant PATCH is delivered once, verified by the standardwebhooks package, with the change in its data", async () => {
    await tenantWithKey({ id: "hooked", plan: "p" });
    const hook = receiver();
    const e = await endpoint({ url: hook.url(), events: ["tenant.updated"] });
    const patched = await admin("PATCH", "/tenants/hooked", { status: "suspended" });
    expect(patched.status).toBe(200);
    const revision = /"tenant-(\d+)"/.exec(patched.headers.get("etag") ?? "")?.[1];
    await patched.arrayBuffer();

    // The alarm was set for now: it runs on its own.
    await expect.poll(async () => (await hook.received()).length, { timeout: 5000 }).toBe(1);
    const [delivery] = await hook.received();
    const body = verified(e.secret, delivery!) as { type: string; timestamp: string; data: { tenant: string; before: { status: string }; after: { status: string } } };
    expect(body.type).toBe("tenant.updated");
    expect(body.data).toMatchObject({ tenant: "hooked", before: { status: "active" }, after: { status: "suspended" } });
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
    expect(delivery!.headers["webhook-id"]).toBe(`tenant.updated:hooked:${revision}`);
    expect(delivery!.headers["content-type"]).toBe("application/json");
    expect(delivery!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    // A tampered body fails the same verifier (the check above can fail).
    expect(() => verified(e.secret, { ...delivery!, body: delivery!.body.replace("suspended", "active") })).toThrow();

    // Nothing more is due: running the alarm again sends nothing.
    await runHubAlarm();
    expect(await hook.received()).toHaveLength(1);
    expect(await attemptsOf(e.id)).toEqual([
      expect.objectContaining({ id: `tenant.updated:hooked:${revision}`, event: "tenant.updated", status: 204, attempt: 1, state: "delivered" }),
    ]);
  });

  it("a tenant DELETE is delivered with after null; an endpoint not subscribed to the type gets nothing", async () => {
    await tenantWithKey({ id: "doomed", plan: "p" });
    const hook = receiver();
    const other = receiver();
    const e = await endpoint({ url: hook.url(), events: ["*"] });
    await endpoint({ url: other.url(), events: ["quota.exhausted"] });
    const res = await admin("DELETE", "/tenants/doomed");
    expect(res.status).toBe(204);
    await expect.poll(async () => (await hook.received()).length, { timeout: 5000 }).toBe(1);
    const [delivery] = await hook.received();
    expect(delivery!.headers["webhook-id"]).toBe("tenant.updated:doomed:deleted");
    expect(verified(e.secret, delivery!)).toMatchObject({ type: "tenant.updated", data: { tenant: "doomed", before: { id: "doomed" }, after: null } });
    await runHubAlarm();
    expect(await other.received()).toEqual([]);
  });
});

describe("grant.updated", () => {
  it("every grant change is delivered: admin create, patch and revoke, and the tenants' request, approve, reject and revoke", async () => {
    const customer = await tenantWithKey({ id: "g-cust", plan: "p" });
    const partner = await tenantWithKey({ id: "g-app", plan: "p", kind: "partner" });
    const hook = receiver();
    const e = await endpoint({ url: hook.url(), events: ["grant.updated"] });

    const g1 = await adminOk<{ id: string }>("POST", "/grants", { partner: "g-app", customer: "g-cust", surfaces: "*", payer: "customer" }, 201);
    await adminOk("PATCH", `/grants/${g1.id}`, { payer: "partner" });
    expect((await admin("DELETE", `/grants/${g1.id}`)).status).toBe(204);

    const tenantCall = async (key: string, method: string, path: string, body?: unknown) => {
      const { send } = await import("../support/http");
      const res = await send(`/_tollgate${path}`, { method, headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, ...(body !== undefined && { body: JSON.stringify(body) }) });
      const text = await res.text();
      expect(res.status, text).toBeLessThan(300);
      return (text ? JSON.parse(text) : null) as { id: string };
    };
    const g2 = await tenantCall(partner.key, "POST", "/grants", { customer: "g-cust", surfaces: "*", payer: "customer" });
    await tenantCall(customer.key, "POST", `/grants/${g2.id}/approve`);
    await tenantCall(customer.key, "DELETE", `/grants/${g2.id}`);
    const g3 = await tenantCall(partner.key, "POST", "/grants", { customer: "g-cust", surfaces: "*", payer: "partner" });
    await tenantCall(customer.key, "POST", `/grants/${g3.id}/reject`);

    const expected = [
      [`grant.updated:${g1.id}:0`, "active"],
      [`grant.updated:${g1.id}:1`, "active"],
      [`grant.updated:${g1.id}:revoked`, "revoked"],
      [`grant.updated:${g2.id}:0`, "pending"],
      [`grant.updated:${g2.id}:1`, "active"],
      [`grant.updated:${g2.id}:revoked`, "revoked"],
      [`grant.updated:${g3.id}:0`, "pending"],
      [`grant.updated:${g3.id}:1`, "rejected"],
    ];
    await expect.poll(async () => (await hook.received()).length, { timeout: 5000 }).toBe(expected.length);
    const got = (await hook.received()).map((d) => {
      const body = verified(e.secret, d) as { type: string; data: { grant: { status: string } } };
      expect(body.type).toBe("grant.updated");
      return [d.headers["webhook-id"], body.data.grant.status];
    });
    expect(got.sort()).toEqual(expected.sort());
  });
});
