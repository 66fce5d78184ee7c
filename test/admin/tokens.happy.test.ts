// Admin tokens (CONTRACT §9): create, list, revoke; shown once, stored as a hash, named in the audit log.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/crypto";
import { createAdminToken, listAdminTokens } from "../support/admin-tokens";
import { basicCatalog } from "../support/catalogs";
import { admin, adminOk, expectProblem, loadCatalog } from "../support/http";

interface AuditRecord {
  actor: string;
  action: string;
  target: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

const auditLog = () => adminOk<AuditRecord[]>("GET", "/audit?limit=500");

beforeAll(async () => {
  await loadCatalog(basicCatalog);
  await adminOk("POST", "/tenants", { id: "acme", kind: "customer", plan: "free" }, 201);
});

describe("creating an admin token", () => {
  it("answers the token once, with its id, name, scopes and creation time", async () => {
    const created = await createAdminToken("reporting", ["read"]);
    expect(created.token).toMatch(/^tga_[0-9A-Za-z]{40}$/);
    expect(created).toMatchObject({ id: expect.stringMatching(/^atk_/), name: "reporting", scopes: ["read"], prefix: created.token.slice(0, 12) });
    expect(Date.parse(created.createdAt)).not.toBeNaN();

    const listed = (await listAdminTokens()).find((t) => t.id === created.id);
    expect(listed).toEqual({ id: created.id, name: "reporting", scopes: ["read"], prefix: created.prefix, createdAt: created.createdAt, revokedAt: null });
  });

  it("never shows the secret or its hash again, and stores only the hash", async () => {
    const created = await createAdminToken("ci", ["read", "write"]);
    const hash = await sha256Hex(created.token);
    for (const path of ["/tokens", "/audit"]) {
      const text = await (await admin("GET", path)).text();
      expect(text).toContain(created.id);
      expect(text).not.toContain(created.token);
      expect(text).not.toContain(hash);
    }
    const row = await env.DB.prepare("SELECT * FROM admin_tokens WHERE id = ?").bind(created.id).first<Record<string, unknown>>();
    expect(row?.hash).toBe(hash);
    expect(Object.values(row ?? {}).some((v) => typeof v === "string" && v.includes(created.token))).toBe(false);
  });

  it("accepts the scopes in any order and stores them in one order", async () => {
    const created = await createAdminToken("ops", ["write", "read"]);
    expect(created.scopes).toEqual(["read", "write"]);
    expect((await listAdminTokens()).find((t) => t.id === created.id)?.scopes).toEqual(["read", "write"]);
  });
});

describe("using an admin token", () => {
  it("a read token reads; a write token changes things, audited under its name", async () => {
    const reader = await createAdminToken("dashboard", ["read"]);
    const writer = await createAdminToken("provisioner", ["read", "write"]);

    const read = await admin("GET", "/tenants/acme", undefined, reader.token);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: "acme", status: "active" });

    const patched = await admin("PATCH", "/tenants/acme", { name: "Acme" }, writer.token);
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ name: "Acme" });
    const created = await admin("POST", "/tenants", { id: "globex", kind: "partner", plan: "free" }, writer.token);
    expect(created.status).toBe(201);
    await created.arrayBuffer();

    const log = await auditLog();
    expect(log.filter((r) => r.actor === "provisioner").map((r) => [r.action, r.target])).toEqual([
      ["tenant.create", "tenant:globex"],
      ["tenant.update", "tenant:acme"],
    ]);
    expect(log.some((r) => r.actor === "dashboard")).toBe(false);
  });
});

describe("revoking an admin token", () => {
  it("stops it from the next request on, keeps it listed, and leaves other tokens working", async () => {
    const doomed = await createAdminToken("contractor", ["read", "write"]);
    const other = await createAdminToken("contractor-2", ["read"]);
    const before = await admin("GET", "/tenants", undefined, doomed.token);
    expect(before.status).toBe(200);
    await before.arrayBuffer();

    await adminOk("DELETE", `/tokens/${doomed.id}`, undefined, 204);

    await expectProblem(await admin("GET", "/tenants", undefined, doomed.token), 401, "unauthenticated");
    await expectProblem(await admin("PATCH", "/tenants/acme", { name: "Pwned" }, doomed.token), 401, "unauthenticated");
    expect((await adminOk<{ name: string }>("GET", "/tenants/acme")).name).not.toBe("Pwned");
    const stillOk = await admin("GET", "/tenants", undefined, other.token);
    expect(stillOk.status).toBe(200);
    await stillOk.arrayBuffer();

    const listed = (await listAdminTokens()).find((t) => t.id === doomed.id);
    expect(Date.parse(listed?.revokedAt ?? "")).not.toBeNaN();
  });

  it("again is a no-op: 204, the first revokedAt stands, one audit entry", async () => {
    const t = await createAdminToken("twice", ["read"]);
    await adminOk("DELETE", `/tokens/${t.id}`, undefined, 204);
    const first = (await listAdminTokens()).find((x) => x.id === t.id)?.revokedAt;
    await adminOk("DELETE", `/tokens/${t.id}`, undefined, 204);
    expect((await listAdminTokens()).find((x) => x.id === t.id)?.revokedAt).toBe(first);
    expect((await auditLog()).filter((r) => r.action === "admin-token.revoke" && r.target === `admin-token:${t.id}`)).toHaveLength(1);
  });

  it("frees the name for a new token, which is a different secret", async () => {
    const old = await createAdminToken("rotating", ["read"]);
    await adminOk("DELETE", `/tokens/${old.id}`, undefined, 204);
    const fresh = await createAdminToken("rotating", ["read"]);
    expect(fresh.id).not.toBe(old.id);
    expect(fresh.token).not.toBe(old.token);
    await expectProblem(await admin("GET", "/tenants", undefined, old.token), 401, "unauthenticated");
    const ok = await admin("GET", "/tenants", undefined, fresh.token);
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
  });
});

describe("audit of token mutations", () => {
  it("records create and revoke by the root token, without the secret", async () => {
    const t = await createAdminToken("audited", ["read", "write"]);
    await adminOk("DELETE", `/tokens/${t.id}`, undefined, 204);
    const entries = (await auditLog()).filter((r) => r.target === `admin-token:${t.id}`);
    expect(entries.map((r) => [r.actor, r.action])).toEqual([
      ["admin", "admin-token.revoke"],
      ["admin", "admin-token.create"],
    ]);
    const [revoke, create] = entries;
    expect(create!.before).toBeNull();
    expect(create!.after).toEqual({ id: t.id, name: "audited", scopes: ["read", "write"], prefix: t.prefix, createdAt: t.createdAt, revokedAt: null });
    expect(revoke!.before).toMatchObject({ revokedAt: null });
    expect(Date.parse(String(revoke!.after?.revokedAt))).not.toBeNaN();
  });
});
