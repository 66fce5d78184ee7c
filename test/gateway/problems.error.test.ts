// Every problem code of CONTRACT §4 the request path and admin API can produce, with its status
// and headers.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { basicCatalog } from "../support/catalogs";
import { ManualClock, setLimiterClock } from "../support/clock";
import { failingLimiter, sendWith } from "../support/faults";
import { admin, adminOk, call, expectProblem, loadCatalog, send, tenantWithKey } from "../support/http";

let key: string;
beforeAll(async () => {
  await loadCatalog({
    ...basicCatalog,
    surfaces: { ...basicCatalog.surfaces, tiny: { routes: ["GET /tiny"] }, partner: { routes: ["GET /partner"] } },
    plans: {
      free: {
        ...basicCatalog.plans.free,
        surfaces: {
          ...basicCatalog.plans.free.surfaces,
          tiny: { rule: "included", rate: { limit: 1, window: 60 }, quota: { limit: 2, period: "day" } },
        },
      },
    },
  });
  ({ key } = await tenantWithKey({ id: "errors", plan: "free" }));
});

describe("authentication problems", () => {
  it("unauthenticated without a key, with WWW-Authenticate", async () => {
    const res = await send("/echo/x");
    await expectProblem(res, 401, "unauthenticated");
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
  });

  it("unauthenticated for a malformed or unknown key, by either header", async () => {
    await expectProblem(await call("tg_short", "/echo/x"), 401, "unauthenticated");
    await expectProblem(await call("x", "/echo/x", { headers: { "X-Api-Key": "tg_" + "A".repeat(40) } }), 401, "unauthenticated");
    await expectProblem(await call("tg_" + "B".repeat(40), "/echo/x"), 401, "unauthenticated");
  });

  it("unauthenticated for a wrong admin token", async () => {
    const res = await admin("GET", "/tenants", undefined, "not-the-token");
    await expectProblem(res, 401, "unauthenticated");
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    await expectProblem(await send("/_tollgate/admin/tenants"), 401, "unauthenticated");
  });

  it("key-revoked once the key is revoked, from the very next request", async () => {
    const t = await tenantWithKey({ id: "revokes", plan: "free" });
    expect((await call(t.key, "/echo/a")).status).toBe(200);
    await adminOk("DELETE", `/tenants/revokes/keys/${t.keyId}`, undefined, 204);
    await expectProblem(await call(t.key, "/echo/a"), 401, "key-revoked");
  });

  it("key-revoked for an expired key", async () => {
    await adminOk("POST", "/tenants", { id: "expires", kind: "customer", plan: "free" }, 201);
    const k = await adminOk<{ key: string }>("POST", "/tenants/expires/keys", { expiresAt: "2020-01-01T00:00:00Z" }, 201);
    await expectProblem(await call(k.key, "/echo/a"), 401, "key-revoked");
  });

  it("key-revoked after the tenant is deleted, even where no surface matches", async () => {
    const t = await tenantWithKey({ id: "deleted", plan: "free" });
    await adminOk("DELETE", "/tenants/deleted", undefined, 204);
    await expectProblem(await call(t.key, "/nowhere"), 401, "key-revoked");
    await expectProblem(await call(t.key, "/echo/a"), 401, "key-revoked");
  });

  it("tenant-suspended while suspended, and back when reactivated", async () => {
    const t = await tenantWithKey({ id: "suspends", plan: "free" });
    await adminOk("PATCH", "/tenants/suspends", { status: "suspended" });
    await expectProblem(await call(t.key, "/echo/a"), 403, "tenant-suspended");
    await adminOk("PATCH", "/tenants/suspends", { status: "active" });
    expect((await call(t.key, "/echo/a")).status).toBe(200);
  });
});

describe("surface and rule problems", () => {
  it("no-surface for a path no route matches; not forwarded", async () => {
    const res = await call(key, "/v9/unknown");
    const body = await expectProblem(res, 404, "no-surface");
    expect(body.detail).toContain("/v9/unknown");
    expect(res.headers.get("Tollgate-Units")).toBe("0");
    expect(res.headers.get("Tollgate-Cost")).toBe("0");
  });

  it("surface-prohibited for a prohibited rule and for a surface the plan does not list", async () => {
    const res = await call(key, "/v1/exports", { method: "POST" });
    expect((await expectProblem(res, 403, "surface-prohibited")).surface).toBe("bulk.export");
    expect(res.headers.get("Tollgate-Surface")).toBe("bulk.export");
    await expectProblem(await call(key, "/partner"), 403, "surface-prohibited");
  });

  it("premium-required without the add-on", async () => {
    await expectProblem(await call(key, "/v1/sync/a"), 403, "premium-required");
  });
});

describe("limit problems", () => {
  // Each on its own tenant whose limiter clock stands still, two minutes before a UTC midnight,
  // so the seconds in the answers are exact on any day the suite runs.
  const beforeMidnight = Date.parse("2026-03-15T23:58:00.250Z");

  it("rate-limited with Retry-After, violated-policies and RateLimit headers", async () => {
    const { key: k } = await tenantWithKey({ id: "rate-clock", plan: "free" });
    await setLimiterClock("rate-clock", new ManualClock(beforeMidnight));
    const first = await call(k, "/tiny");
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const res = await call(k, "/tiny");
    const body = await expectProblem(res, 429, "rate-limited");
    expect(body["violated-policies"]).toEqual(["rate"]);
    expect(body.retryAfter).toBe(60); // one token of a 1-per-60 s bucket
    expect(res.headers.get("Retry-After")).toBe("60");
    expect(res.headers.get("RateLimit")).toBe('"rate";r=0;t=60, "quota";r=1;t=120');
    expect(res.headers.get("RateLimit-Policy")).toBe('"rate";q=1;w=60, "quota";q=2;w=86400');
  });

  it("quota-exhausted with Retry-After = seconds to the period end", async () => {
    const { key: k } = await tenantWithKey({ id: "quota-clock", plan: "free" });
    await setLimiterClock("quota-clock", new ManualClock(beforeMidnight));
    for (let i = 0; i < 2; i++) {
      const ok = await call(k, "/tiny");
      expect(ok.status).toBe(200);
      await ok.arrayBuffer();
      await adminOk("POST", "/tenants/quota-clock/limits/reset", { surface: "tiny", what: "rate" }, 204);
    }
    const res = await call(k, "/tiny");
    const body = await expectProblem(res, 429, "quota-exhausted");
    expect(body["violated-policies"]).toEqual(["quota"]);
    expect(body.retryAfter).toBe(120); // ceil(119.75 s) to 2026-03-16T00:00Z
    expect(res.headers.get("Retry-After")).toBe("120");
  });
});

describe("request problems", () => {
  it("invalid-request for a body that is not JSON, or has no array at the pointer; not forwarded", async () => {
    const notJson = await call(key, "/v1/records", { method: "POST", body: "{nope" });
    await expectProblem(notJson, 400, "invalid-request");
    const noArray = await call(key, "/v1/records", { method: "POST", body: JSON.stringify({ records: 3 }) });
    const body = await expectProblem(noArray, 400, "invalid-request");
    expect(body.errors).toEqual([{ path: "/records", message: "expected an array" }]);
  });

  it("payload-too-large above MAX_BODY_BYTES, declared or streamed", async () => {
    const big = "x".repeat(70_000);
    await expectProblem(await call(key, "/echo/up", { method: "POST", body: big }), 413, "payload-too-large");
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(JSON.stringify({ records: [] }).slice(0, -1) + " ".repeat(70_000) + "}"));
        c.close();
      },
    });
    const res = await call(key, "/v1/records", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    await expectProblem(res, 413, "payload-too-large");
  });

  it("payload-too-large for an admin body above 1 MiB, and nothing changes", async () => {
    const before = await adminOk<{ version: number }>("GET", "/catalog");
    const huge = JSON.stringify({ ...basicCatalog, padding: "x".repeat(1024 * 1024) });
    await expectProblem(await admin("PUT", "/catalog", huge), 413, "payload-too-large");
    expect((await adminOk<{ version: number }>("GET", "/catalog")).version).toBe(before.version);
  });

  it("invalid-request for admin schema violations, with every issue listed", async () => {
    const res = await admin("POST", "/tenants", { id: "bad id!", kind: "robot" });
    const body = await expectProblem(res, 400, "invalid-request");
    const paths = (body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(["/id", "/kind", "/plan"]);
  });

  it("invalid-request for malformed JSON and bad query parameters", async () => {
    await expectProblem(await admin("POST", "/tenants", "{not json"), 400, "invalid-request");
    await expectProblem(await admin("PUT", "/catalog", "{not json"), 400, "invalid-request");
    await expectProblem(await admin("GET", "/tenants?limit=0"), 400, "invalid-request");
  });

  it("not-found for unknown admin resources and endpoints", async () => {
    await expectProblem(await admin("GET", "/tenants/nobody"), 404, "not-found");
    await expectProblem(await admin("DELETE", "/tenants/errors/keys/key_nope"), 404, "not-found");
    await expectProblem(await send("/_tollgate/nothing-here"), 404, "not-found");
  });

  it("conflict when creating a tenant that exists", async () => {
    await expectProblem(await admin("POST", "/tenants", { id: "errors", kind: "customer", plan: "free" }), 409, "conflict");
  });
});

describe("origin and limiter problems", () => {
  const auth = () => ({ headers: { Authorization: `Bearer ${key}` } });

  it("origin-unavailable when the origin refuses connections, and nothing is charged", async () => {
    const res = await sendWith({ ORIGIN_URL: "http://127.0.0.1:9" }, "/echo/x", auth());
    await expectProblem(res, 502, "origin-unavailable");
    expect(res.headers.get("Tollgate-Units")).toBe("0");
    expect(res.headers.get("Tollgate-Cost")).toBe("0");
  });

  it("origin-timeout when the origin is slower than ORIGIN_TIMEOUT_MS", async () => {
    const res = await sendWith({ ORIGIN_TIMEOUT_MS: "100" }, "/echo/x?delay=600", auth());
    await expectProblem(res, 504, "origin-timeout");
    expect(res.headers.get("Tollgate-Cost")).toBe("0");
  });

  it("limiter-unavailable with Retry-After when the limiter fails and FAIL_MODE=closed", async () => {
    const res = await sendWith({ LIMITER: failingLimiter, FAIL_MODE: "closed" }, "/echo/x", auth());
    await expectProblem(res, 503, "limiter-unavailable");
    expect(res.headers.get("Retry-After")).toBe("1");
  });

  it("forwards unmetered when the limiter fails and FAIL_MODE=open", async () => {
    const res = await sendWith({ LIMITER: failingLimiter, FAIL_MODE: "open" }, "/echo/x", auth());
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(res.headers.get("Tollgate-Limiter")).toBe("unavailable");
    expect(res.headers.get("Tollgate-Cost")).toBe("0");
  });

  it("FAIL_MODE=open still drops Tollgate-* headers the origin sets", async () => {
    // The demo origin echoes ?events as Events-Delivered; a hostile origin could send Tollgate-*.
    const res = await sendWith({ LIMITER: failingLimiter, FAIL_MODE: "open", ORIGIN_URL: `${env.ORIGIN_URL}/_spoof` }, "/echo/x", auth());
    await res.arrayBuffer();
    expect(res.headers.get("Tollgate-Incentives")).toBeNull();
    expect(res.headers.get("Tollgate-Units")).toBe("0");
  });
});
