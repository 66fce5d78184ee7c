// The origin-side snippets of docs/deploy.md (examples/verify-signature/) verify what the gateway
// really sends: the shared vector is the gateway's own signature, and the Workers snippet accepts
// a request forwarded through the real gateway (the Node snippet's test, node.test.mjs, uses the vector).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import vector from "../../examples/verify-signature/vector.json";
import { verifyTollgateSignature } from "../../examples/verify-signature/worker";
import { signature } from "../../src/gateway/forward";
import { basicCatalog } from "../support/catalogs";
import { call, loadCatalog, tenantWithKey } from "../support/http";

const at = (seconds: number) => ({ now: seconds * 1000 });
const signed = (overrides: Record<string, string> = {}) =>
  new Headers({ "Tollgate-Signature": vector.header, "Tollgate-Tenant": vector.tenant, "Tollgate-Request-Id": vector.requestId, ...overrides });

describe("the signature vector", () => {
  it("is what the gateway computes", async () => {
    expect(await signature(vector.secret, vector.t, vector.tenant, vector.requestId)).toBe(vector.header);
  });
});

describe("the Workers snippet", () => {
  it("accepts the vector within five minutes and refuses it after", async () => {
    expect(await verifyTollgateSignature(signed(), vector.secret, at(vector.t + 300))).toEqual({ ok: true, tenant: vector.tenant, requestId: vector.requestId });
    expect(await verifyTollgateSignature(signed(), vector.secret, at(vector.t + 301))).toEqual({ ok: false, reason: "Tollgate-Signature is too old (or from the future)" });
  });

  it("refuses another tenant, request id, secret or a malformed header", async () => {
    expect((await verifyTollgateSignature(signed({ "Tollgate-Tenant": "other" }), vector.secret, at(vector.t))).ok).toBe(false);
    expect((await verifyTollgateSignature(signed({ "Tollgate-Request-Id": "other" }), vector.secret, at(vector.t))).ok).toBe(false);
    expect((await verifyTollgateSignature(signed(), "another-secret", at(vector.t))).ok).toBe(false);
    expect(await verifyTollgateSignature(signed({ "Tollgate-Signature": "v1=abc" }), vector.secret, at(vector.t))).toEqual({ ok: false, reason: "malformed Tollgate-Signature" });
  });

  describe("on a request forwarded by the gateway", () => {
    let key: string;
    beforeAll(async () => {
      await loadCatalog(basicCatalog);
      ({ key } = await tenantWithKey({ id: "signed-origin", plan: "free" }));
    });

    it("accepts it as the tenant that called, and refuses it with another secret", async () => {
      const res = await call(key, "/echo/verify");
      expect(res.status).toBe(200);
      const echo = await res.json<{ headers: Record<string, string> }>();
      const secret = env.ORIGIN_SECRET ?? expect.unreachable("vitest.config.ts binds ORIGIN_SECRET");
      const received = new Headers(echo.headers);
      expect(await verifyTollgateSignature(received, secret)).toEqual({ ok: true, tenant: "signed-origin", requestId: res.headers.get("Tollgate-Request-Id") });
      expect((await verifyTollgateSignature(received, "not-the-secret")).ok).toBe(false);
    });
  });
});
