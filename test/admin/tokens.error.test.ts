// Admin tokens (CONTRACT §9) refused: bad bodies, taken names, unknown ids. A refusal stores nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { createAdminToken, listAdminTokens } from "../support/admin-tokens";
import { admin, adminOk, expectProblem, send } from "../support/http";
import { env } from "cloudflare:workers";

const auditLog = () => adminOk<unknown[]>("GET", "/audit?limit=500");

beforeAll(async () => {
  await createAdminToken("existing", ["read"]);
});

/** Asserts `attempt` is refused with `status`/`code` and neither the tokens nor the audit log changed. */
async function expectRefusedAndUnchanged(attempt: () => Promise<Response>, status: number, code: string) {
  const [tokens, log] = await Promise.all([listAdminTokens(), auditLog()]);
  const body = await expectProblem(await attempt(), status, code);
  expect(await listAdminTokens()).toEqual(tokens);
  expect(await auditLog()).toEqual(log);
  return body;
}

describe("bad bodies", () => {
  const cases: [string, unknown][] = [
    ["no body fields", {}],
    ["no scopes", { name: "x" }],
    ["no name", { scopes: ["read"] }],
    ["an empty name", { name: "", scopes: ["read"] }],
    ["a name of 65 characters", { name: "n".repeat(65), scopes: ["read"] }],
    ["a name with a control character", { name: "bad\nname", scopes: ["read"] }],
    ["a name with a leading space", { name: " padded", scopes: ["read"] }],
    ["a name with a trailing space", { name: "padded ", scopes: ["read"] }],
    ["a name with a C1 control character", { name: "bad\u0085name", scopes: ["read"] }],
    ["a name that is not a string", { name: 42, scopes: ["read"] }],
    ["empty scopes", { name: "x", scopes: [] }],
    ["write without read", { name: "x", scopes: ["write"] }],
    ["the report scope with others (it is granted alone, CONTRACT §11)", { name: "x", scopes: ["read", "report"] }],
    ["an unknown scope", { name: "x", scopes: ["read", "admin"] }],
    ["a repeated scope", { name: "x", scopes: ["read", "read"] }],
    ["scopes as a string", { name: "x", scopes: "read" }],
    ["an unknown field", { name: "x", scopes: ["read"], expiresAt: "2030-01-01T00:00:00Z" }],
    ["a JSON array", [{ name: "x", scopes: ["read"] }]],
    ["malformed JSON", '{"name": "x", "scopes": ["read"'],
  ];
  it.each(cases)("%s: 400 invalid-request, nothing stored", async (_, body) => {
    const problem = await expectRefusedAndUnchanged(() => admin("POST", "/tokens", body), 400, "invalid-request");
    expect(Array.isArray(problem.errors) && problem.errors.length > 0).toBe(true);
  });

  it("a body not sent as JSON: 400 invalid-request, nothing stored", async () => {
    await expectRefusedAndUnchanged(
      () => send("/_tollgate/admin/tokens", { method: "POST", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "text/plain" }, body: "name=x" }),
      400,
      "invalid-request",
    );
  });

  it("a name of exactly 64 characters, or with inner spaces and accents, is fine", async () => {
    expect((await createAdminToken("n".repeat(64), ["read"])).name).toHaveLength(64);
    expect((await createAdminToken("Zoë's nightly export", ["read"])).name).toBe("Zoë's nightly export");
  });
});

describe("names", () => {
  it("a live token's name is taken: 409 conflict, nothing stored", async () => {
    await expectRefusedAndUnchanged(() => admin("POST", "/tokens", { name: "existing", scopes: ["read", "write"] }), 409, "conflict");
  });

  it("the root token's audit name is reserved: 409 conflict", async () => {
    await expectRefusedAndUnchanged(() => admin("POST", "/tokens", { name: "admin", scopes: ["read"] }), 409, "conflict");
  });

  it("two concurrent creates of one name: one 201, one 409, one token", async () => {
    const results = await Promise.all([admin("POST", "/tokens", { name: "racer", scopes: ["read"] }), admin("POST", "/tokens", { name: "racer", scopes: ["read", "write"] })]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    await Promise.all(results.map((r) => r.arrayBuffer()));
    expect((await listAdminTokens()).filter((t) => t.name === "racer")).toHaveLength(1);
  });
});

describe("unknown tokens", () => {
  it("revoking an unknown id: 404 not-found, nothing changed", async () => {
    await expectRefusedAndUnchanged(() => admin("DELETE", "/tokens/atk_doesnotexist"), 404, "not-found");
  });
});
