// What each admin token may do (CONTRACT §9): `read` reads and changes nothing; `write` changes
// things but cannot manage admin tokens, which only the root ADMIN_TOKEN can.
import { beforeAll, describe, expect, it } from "vitest";
import { createAdminToken, listAdminTokens, type NewAdminToken } from "../support/admin-tokens";
import { basicCatalog } from "../support/catalogs";
import { admin, adminOk, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

let reader: NewAdminToken;
let writer: NewAdminToken;
let key: string;
let keyId: string;

beforeAll(async () => {
  await loadCatalog(basicCatalog);
  ({ key, keyId } = await tenantWithKey({ id: "acme", plan: "free" }));
  reader = await createAdminToken("auditor", ["read"]);
  writer = await createAdminToken("provisioner", ["read", "write"]);
});

/** Everything an admin can see, as the root token sees it. */
async function adminState() {
  const paths = ["/catalog", "/catalog/versions", "/tenants", "/tenants/acme", "/tenants/acme/keys", "/tenants/acme/limits", "/tokens", "/audit?limit=500"];
  return Object.fromEntries(await Promise.all(paths.map(async (p) => [p, await adminOk("GET", p)] as const)));
}

describe("a read token", () => {
  it("reads every resource", async () => {
    for (const path of ["/catalog", "/catalog/versions", "/tenants", "/tenants/acme", "/tenants/acme/keys", "/tenants/acme/limits", "/usage", "/audit", "/tokens"]) {
      const res = await admin("GET", path, undefined, reader.token);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    }
  });

  const mutations: [string, string, unknown][] = [
    ["PUT", "/catalog", { ...basicCatalog, currency: "EUR" }],
    ["POST", "/tenants", { id: "intruder", kind: "customer", plan: "free" }],
    ["PATCH", "/tenants/acme", { status: "suspended" }],
    ["DELETE", "/tenants/acme", undefined],
    ["POST", "/tenants/acme/keys", { name: "backdoor" }],
    ["DELETE", "/tenants/acme/keys/KEY", undefined],
    ["POST", "/tenants/acme/limits/reset", { what: "all" }],
    ["POST", "/tokens", { name: "escalated", scopes: ["read", "write"] }],
    ["DELETE", "/tokens/SELF", undefined],
  ];
  it.each(mutations)("%s %s: 403 forbidden and nothing changes", async (method, path, body) => {
    const before = await adminState();
    const res = await admin(method, path.replace("KEY", keyId).replace("SELF", reader.id), body, reader.token);
    const problem = await expectProblem(res, 403, "forbidden");
    expect(problem.detail).toContain("write");
    expect(await adminState()).toEqual(before);
    // The tenant still works as before through the gateway.
    const proxied = await call(key, "/echo/still-here");
    expect(proxied.status).toBe(200);
    await proxied.arrayBuffer();
  });

  it("is refused before its body is read: a malformed body is still 403, not 400", async () => {
    await expectProblem(await admin("PATCH", "/tenants/acme", "{not json", reader.token), 403, "forbidden");
  });
});

describe("a write token", () => {
  it("cannot create admin tokens: 403 forbidden, none created, even with a bad body", async () => {
    const before = await listAdminTokens();
    await expectProblem(await admin("POST", "/tokens", { name: "successor", scopes: ["read", "write"] }, writer.token), 403, "forbidden");
    await expectProblem(await admin("POST", "/tokens", { name: "" }, writer.token), 403, "forbidden");
    expect(await listAdminTokens()).toEqual(before);
  });

  it("cannot revoke admin tokens, its own or another's: 403 forbidden, both still work", async () => {
    for (const target of [writer, reader]) {
      await expectProblem(await admin("DELETE", `/tokens/${target.id}`, undefined, writer.token), 403, "forbidden");
    }
    for (const t of [writer, reader]) {
      const res = await admin("GET", "/tokens", undefined, t.token);
      expect(res.status).toBe(200);
      const listed = await res.json<{ id: string; revokedAt: string | null }[]>();
      expect(listed.filter((x) => x.id === reader.id || x.id === writer.id).map((x) => x.revokedAt)).toEqual([null, null]);
    }
  });

  it("can list admin tokens, without secrets", async () => {
    const res = await admin("GET", "/tokens", undefined, writer.token);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain(reader.id);
    expect(text).not.toContain(reader.token);
    expect(text).not.toContain(writer.token);
  });
});

describe("tokens are not interchangeable with tenant keys", () => {
  it("a tenant API key is not an admin token, and an admin token is not an API key", async () => {
    await expectProblem(await admin("GET", "/tenants", undefined, key), 401, "unauthenticated");
    await expectProblem(await call(reader.token, "/echo/x"), 401, "unauthenticated");
  });
});
