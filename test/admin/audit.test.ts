// Every admin mutation is audited: who, when, what, target, before and after (CONTRACT §5).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { basicCatalog } from "../support/catalogs";
import { admin, adminOk, expectProblem, loadCatalog } from "../support/http";

interface AuditRecord {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

let keyId: string;
let secret: string;
beforeAll(async () => {
  await loadCatalog(basicCatalog);
  await loadCatalog(basicCatalog); // identical: not a mutation
  await adminOk("POST", "/tenants", { id: "aud", kind: "customer", plan: "free" }, 201);
  await adminOk("PATCH", "/tenants/aud", { status: "suspended" });
  const k = await adminOk<{ id: string; key: string }>("POST", "/tenants/aud/keys", { name: "ci" }, 201);
  keyId = k.id;
  secret = k.key;
  await adminOk("DELETE", `/tenants/aud/keys/${keyId}`, undefined, 204);
  await adminOk("POST", "/tenants/aud/limits/reset", { what: "all" }, 204);
  await adminOk("DELETE", "/tenants/aud", undefined, 204);
  // Rejected mutations are not mutations.
  await (await admin("POST", "/tenants", { id: "bad id" })).arrayBuffer();
});

describe("audit log", () => {
  it("records each mutation, newest first, with before and after", async () => {
    const log = await adminOk<AuditRecord[]>("GET", "/audit");
    expect(log.map((r) => [r.action, r.target])).toEqual([
      ["tenant.delete", "tenant:aud"],
      ["limits.reset", "tenant:aud"],
      ["key.revoke", `tenant:aud/key:${keyId}`],
      ["key.create", `tenant:aud/key:${keyId}`],
      ["tenant.update", "tenant:aud"],
      ["tenant.create", "tenant:aud"],
      ["catalog.put", "catalog"],
    ]);
    expect(log.every((r) => r.actor === "admin" && !Number.isNaN(Date.parse(r.at)))).toBe(true);
    const update = log.find((r) => r.action === "tenant.update")!;
    expect([update.before?.status, update.after?.status]).toEqual(["active", "suspended"]);
    expect(log.find((r) => r.action === "catalog.put")).toMatchObject({ before: null, after: { version: 1 } });
    expect(log.find((r) => r.action === "limits.reset")!.after).toEqual({ surface: null, what: "all" });
  });

  it("never contains an API key", async () => {
    const text = await (await admin("GET", "/audit")).text();
    expect(text).not.toContain(secret);
  });

  it("filters by action and target, pages with a cursor", async () => {
    const creates = await adminOk<AuditRecord[]>("GET", "/audit?action=tenant.create");
    expect(creates.map((r) => r.target)).toEqual(["tenant:aud"]);
    const page1 = await admin("GET", "/audit?limit=3");
    const first = await page1.json<AuditRecord[]>();
    const next = /<([^>]+)>; rel="next"/.exec(page1.headers.get("Link") ?? "")?.[1];
    expect(first).toHaveLength(3);
    expect(next).toContain("cursor=");
    const second = await adminOk<AuditRecord[]>("GET", next!.replace("/_tollgate/admin", ""));
    expect(second[0]!.id).toBeLessThan(first[2]!.id);
    const future = await adminOk<AuditRecord[]>("GET", "/audit?from=2999-01-01");
    expect(future).toEqual([]);
  });

  it("is append-only", async () => {
    await expect(env.DB.prepare("UPDATE audit_log SET actor = 'mallory'").run()).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM audit_log").run()).rejects.toThrow(/append-only/);
  });

  it("rejects bad filters", async () => {
    await expectProblem(await admin("GET", "/audit?limit=0"), 400, "invalid-request");
    await expectProblem(await admin("GET", "/audit?from=soon"), 400, "invalid-request");
  });
});
