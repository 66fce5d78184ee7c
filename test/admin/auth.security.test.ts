// Auth on every admin route (CONTRACT §5, §9), driven by the OpenAPI document so that a route
// added later is covered without touching this file: no token, a wrong token and a revoked
// admin token get 401; a read-only token gets 403 on every operation that is not a read.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createAdminToken, type NewAdminToken } from "../support/admin-tokens";
import { basicCatalog } from "../support/catalogs";
import { adminOk, expectProblem, loadCatalog, send, tenantWithKey } from "../support/http";

const ADMIN = "/_tollgate/admin";
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;

interface Operation {
  method: string;
  /** The path under /_tollgate/admin as the document names it, e.g. /tenants/{id}. */
  template: string;
}

let operations: Operation[] = [];
let reader: NewAdminToken;
let revoked: NewAdminToken;
const real: Record<string, string> = {};

beforeAll(async () => {
  const doc = await (await send("/_tollgate/openapi.json")).json<{ paths: Record<string, Record<string, unknown>> }>();
  operations = Object.entries(doc.paths)
    .filter(([path]) => path.startsWith(`${ADMIN}/`))
    .flatMap(([path, item]) => METHODS.filter((m) => m in item).map((m) => ({ method: m.toUpperCase(), template: path.slice(ADMIN.length) })));

  await loadCatalog(basicCatalog);
  const { keyId } = await tenantWithKey({ id: "acme", plan: "free" });
  reader = await createAdminToken("viewer", ["read"]);
  revoked = await createAdminToken("gone", ["read", "write"]);
  await adminOk("DELETE", `/tokens/${revoked.id}`, undefined, 204);
  Object.assign(real, { tenants: "acme", keys: keyId, tokens: reader.id });
});

/** Path params become real ids where the resource is known (so a refusal is not a mere 404), else a placeholder. */
function concrete(template: string): string {
  const segments = template.split("/");
  return segments.map((s, i) => (/^\{.+\}$/.test(s) ? (real[segments[i - 1] ?? ""] ?? "placeholder") : s)).join("/");
}

function request(op: Operation, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = { ...(authorization !== undefined && { Authorization: authorization }) };
  const hasBody = op.method !== "GET" && op.method !== "HEAD";
  if (hasBody) headers["Content-Type"] = "application/json";
  return send(`${ADMIN}${concrete(op.template)}`, { method: op.method, headers, ...(hasBody && { body: "{}" }) });
}

const reads = (op: Operation) => op.method === "GET" || op.method === "HEAD";

describe("the table of admin operations", () => {
  it("comes from the OpenAPI document and holds every known admin route", () => {
    const names = operations.map((o) => `${o.method} ${o.template}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "PUT /catalog",
        "GET /catalog",
        "GET /catalog/versions",
        "POST /tenants",
        "GET /tenants",
        "GET /tenants/{id}",
        "PATCH /tenants/{id}",
        "DELETE /tenants/{id}",
        "POST /tenants/{id}/keys",
        "GET /tenants/{id}/keys",
        "DELETE /tenants/{id}/keys/{keyId}",
        "GET /tenants/{id}/limits",
        "POST /tenants/{id}/limits/reset",
        "GET /usage",
        "GET /usage/export",
        "GET /audit",
        "POST /tokens",
        "GET /tokens",
        "DELETE /tokens/{id}",
      ]),
    );
    expect(operations.filter((o) => !reads(o)).length).toBeGreaterThanOrEqual(9);
  });

  it("documents 401 and 403 on every admin operation", async () => {
    const doc = await (await send("/_tollgate/openapi.json")).json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>();
    for (const op of operations) {
      const responses = doc.paths[`${ADMIN}${op.template}`]?.[op.method.toLowerCase()]?.responses ?? {};
      expect(Object.keys(responses), `${op.method} ${op.template}`).toEqual(expect.arrayContaining(["401", "403"]));
    }
  });
});

describe("every admin operation", () => {
  const refusals: [string, () => string | undefined][] = [
    ["no Authorization header", () => undefined],
    ["an empty bearer", () => "Bearer "],
    ["another scheme with the root token", () => `Basic ${env.ADMIN_TOKEN}`],
    ["a wrong token", () => "Bearer not-the-admin-token"],
    ["the root token with a character more", () => `Bearer ${env.ADMIN_TOKEN}x`],
    ["a well-formed admin token that was never issued", () => `Bearer tga_${"A".repeat(40)}`],
    ["a revoked admin token", () => `Bearer ${revoked.token}`],
  ];

  it.each(refusals)("answers %s with 401 unauthenticated", async (_, authorization) => {
    expect(operations.length).toBeGreaterThan(0);
    for (const op of operations) {
      const res = await request(op, authorization());
      const where = `${op.method} ${op.template}`;
      expect(res.status, where).toBe(401);
      expect(res.headers.get("WWW-Authenticate"), where).toMatch(/^Bearer/);
      if (op.method === "HEAD") continue; // no body to read
      const body = await expectProblem(res, 401, "unauthenticated");
      expect(body.title, where).toBeTruthy();
    }
  });

  it("answers a read-only token 403 forbidden on every operation that is not a read", async () => {
    const mutations = operations.filter((o) => !reads(o));
    expect(mutations.length).toBeGreaterThan(0);
    const auditBefore = await adminOk<unknown[]>("GET", "/audit?limit=500");
    for (const op of mutations) {
      const body = await expectProblem(await request(op, `Bearer ${reader.token}`), 403, "forbidden");
      // Every mutation needs `write`, except usage reports, which need `report` (CONTRACT §11).
      expect(body.detail, `${op.method} ${op.template}`).toContain(op.template === "/usage/reports" ? "`report`" : "`write`");
    }
    expect(await adminOk<unknown[]>("GET", "/audit?limit=500")).toEqual(auditBefore);
  });

  it("answers a read-only token as it answers the root token on every read", async () => {
    for (const op of operations.filter(reads)) {
      const [asRoot, asReader] = await Promise.all([request(op, `Bearer ${env.ADMIN_TOKEN}`), request(op, `Bearer ${reader.token}`)]);
      expect(asReader.status, `${op.method} ${op.template}`).toBe(asRoot.status);
      expect(asReader.status, `${op.method} ${op.template}`).not.toBe(403);
      await Promise.all([asRoot.arrayBuffer(), asReader.arrayBuffer()]);
    }
  });
});
