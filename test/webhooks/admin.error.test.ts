// What the webhook admin API refuses (CONTRACT §8): URLs that are not http(s), carry credentials,
// are too long or are not URLs; unknown event types; unknown endpoints. A refusal creates nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createAdminToken } from "../support/admin-tokens";
import { admin, adminOk, expectProblem } from "../support/http";

const endpointCount = async () => (await adminOk<unknown[]>("GET", "/webhooks")).length;
const audited = async () => (await adminOk<{ action: string }[]>("GET", "/audit?action=webhook.create")).length;

describe("POST /webhooks refuses", () => {
  const badUrls: [string, string][] = [
    ["ftp://hooks.example.com/x", "must be an http or https URL"],
    ["https://u:p@hooks.example.com/x", "must not contain a username or password"],
    ["https://user@hooks.example.com/x", "must not contain a username or password"],
    ["not a url", "must be an absolute URL"],
    ["/relative/path", "must be an absolute URL"],
    ["javascript:alert(1)", "must be an http or https URL"],
    [`https://hooks.example.com/${"a".repeat(2048)}`, ""],
  ];
  for (const [url, message] of badUrls) {
    it(`url ${url.slice(0, 40)} → 400 naming /url, nothing created`, async () => {
      const before = await endpointCount();
      const res = await admin("POST", "/webhooks", { url, events: ["tenant.updated"] });
      const body = await expectProblem(res, 400, "invalid-request");
      const errors = body.errors as { path: string; message: string }[];
      expect(errors.map((e) => e.path)).toEqual(["/url"]);
      if (message) expect(errors[0]!.message).toBe(message);
      expect(await endpointCount()).toBe(before);
      expect(await audited()).toBe(0);
    });
  }

  it("unknown event types, no events, a missing url, unknown members", async () => {
    const cases: [unknown, string[]][] = [
      [{ url: "https://h.example.com", events: ["tenant.created"] }, ["/events/0"]],
      [{ url: "https://h.example.com", events: [] }, ["/events"]],
      [{ events: ["*"] }, ["/url"]],
      [{ url: "https://h.example.com", events: ["*"], secret: "whsec_mine" }, [""]],
    ];
    for (const [body, paths] of cases) {
      const problem = await expectProblem(await admin("POST", "/webhooks", body), 400, "invalid-request");
      expect((problem.errors as { path: string }[]).map((e) => e.path), JSON.stringify(body)).toEqual(paths);
    }
    expect(await endpointCount()).toBe(0);
  });

  it("a read-only admin token may list endpoints but not create or delete them", async () => {
    const { token } = await createAdminToken("hooks-reader", ["read"]);
    const created = await admin("POST", "/webhooks", { url: "https://h.example.com", events: ["*"] }, token);
    await expectProblem(created, 403, "forbidden");
    const list = await admin("GET", "/webhooks", undefined, token);
    expect(list.status).toBe(200);
    await list.arrayBuffer();
    expect(await endpointCount()).toBe(0);
  });
});

describe("unknown endpoints", () => {
  it("DELETE and GET deliveries of an unknown endpoint are 404", async () => {
    await expectProblem(await admin("DELETE", "/webhooks/we_nope"), 404, "not-found");
    await expectProblem(await admin("GET", "/webhooks/we_nope/deliveries"), 404, "not-found");
  });

  it("without a token, 401", async () => {
    await expectProblem(await admin("GET", "/webhooks", undefined, "wrong"), 401, "unauthenticated");
    expect(env.ADMIN_TOKEN).toBeTruthy();
  });
});
