// Header hygiene and the origin signature (CONTRACT §3.4).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { hmacSha256Hex } from "../../src/crypto";
import { basicCatalog } from "../support/catalogs";
import { ManualClock, sendAt } from "../support/clock";
import { sendWith } from "../support/faults";
import { call, loadCatalog, tenantWithKey } from "../support/http";

let key: string;
beforeAll(async () => {
  await loadCatalog(basicCatalog);
  ({ key } = await tenantWithKey({ id: "hygiene", plan: "free" }));
});

interface Echo {
  method: string;
  path: string;
  headers: Record<string, string>;
  bodyLength: number;
  bodySha256: string;
}

describe("what reaches the origin", () => {
  it("never the key nor a client's Tollgate-* header; always Tollgate's own", async () => {
    const res = await call(key, "/echo/spoof", {
      headers: { "Tollgate-Tenant": "someone-else", "Tollgate-Surface": "admin", "tollgate-anything": "x", "X-Custom": "kept" },
    });
    const echo = await res.json<Echo>();
    expect(echo.headers["authorization"]).toBeUndefined();
    expect(echo.headers["tollgate-tenant"]).toBe("hygiene");
    expect(echo.headers["tollgate-surface"]).toBe("echo");
    expect(echo.headers["tollgate-anything"]).toBeUndefined();
    expect(echo.headers["tollgate-request-id"]).toBe(res.headers.get("Tollgate-Request-Id"));
    expect(echo.headers["x-custom"]).toBe("kept");
  });

  it("strips X-Api-Key when that carried the key, and keeps an unrelated Authorization", async () => {
    const res = await call(key, "/echo/x", { headers: { "X-Api-Key": key } });
    const echo = await res.json<Echo>();
    expect(echo.headers["x-api-key"]).toBeUndefined();
    expect(JSON.stringify(echo.headers)).not.toContain(key);
  });

  it("strips every header that carries the key, not only the one that authenticated", async () => {
    const res = await call(key, "/echo/both", { headers: { "X-Api-Key": key, Authorization: `Bearer ${key}`, "X-Forwarded-Key": `key=${key}` } });
    const echo = await res.json<Echo>();
    expect(JSON.stringify(echo.headers)).not.toContain(key);
  });

  it("signs with HMAC-SHA256(ORIGIN_SECRET, t.tenant.requestId)", async () => {
    const clock = new ManualClock(Date.parse("2026-03-15T12:00:00.750Z"));
    const res = await sendAt(clock, "/echo/signed", { headers: { Authorization: `Bearer ${key}` } });
    const echo = await res.json<Echo>();
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(echo.headers["tollgate-signature"] ?? "");
    expect(match).not.toBeNull();
    const [, t, v1] = match!;
    expect(t).toBe(String(Date.parse("2026-03-15T12:00:00Z") / 1000)); // whole seconds of the gateway's clock
    const requestId = res.headers.get("Tollgate-Request-Id")!;
    const secret = env.ORIGIN_SECRET ?? expect.unreachable("vitest.config.ts binds ORIGIN_SECRET");
    expect(v1).toBe(await hmacSha256Hex(secret, `${t}.hygiene.${requestId}`));
    expect(v1).not.toBe(await hmacSha256Hex(secret, `${t}.someone-else.${requestId}`));
  });

  it("streams the request body byte for byte with the method, path and query", async () => {
    const body = crypto.getRandomValues(new Uint8Array(30_000));
    const res = await call(key, "/echo/upload?a=1&b=two", { method: "PUT", body });
    const echo = await res.json<Echo & { query: string }>();
    expect(echo).toMatchObject({ method: "PUT", path: "/echo/upload", query: "?a=1&b=two", bodyLength: 30_000 });
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", body))].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(echo.bodySha256).toBe(digest);
  });
});

describe("what reaches the client", () => {
  it("drops Tollgate-* headers the origin tries to set", async () => {
    const res = await sendWith({ ORIGIN_URL: `${env.ORIGIN_URL}/_spoof` }, "/v1/events?events=4", { headers: { Authorization: `Bearer ${key}` } });
    await res.arrayBuffer();
    expect(res.headers.get("Tollgate-Units")).toBe("4");
    expect(res.headers.get("Tollgate-Cost")).toBe("0");
    expect(res.headers.get("Tollgate-Incentives")).toBeNull();
  });

  it("serialises RateLimit-Policy and RateLimit as structured-field lists", async () => {
    const res = await call(key, "/v1/events");
    await res.arrayBuffer();
    expect(res.headers.get("RateLimit-Policy")).toBe('"rate";q=10;w=1, "quota";q=10000;w=2592000;tg-unit="event"');
    expect(res.headers.get("RateLimit")).toMatch(/^"rate";r=\d+;t=\d+, "quota";r=\d+;t=\d+$/);
  });
});

describe("what the gateway adds to an answer", () => {
  it("Server-Timing with tg-auth, tg-admit, tg-origin and tg-total on a forwarded answer (CONTRACT §6)", async () => {
    const res = await call(key, "/echo/timed");
    await res.arrayBuffer();
    const names = (res.headers.get("Server-Timing") ?? "").split(",").map((part) => part.trim().split(";")[0]);
    expect(names).toEqual(["tg-auth", "tg-admit", "tg-origin", "tg-total"]);
    expect(res.headers.get("Server-Timing")).toMatch(/^(tg-[a-z]+;dur=\d+(\.\d+)?(, )?){4}$/);
  });

  it("SERVER_TIMING=off drops it", async () => {
    const res = await sendWith({ SERVER_TIMING: "off" }, "/echo/untimed", { headers: { Authorization: `Bearer ${key}` } });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get("Server-Timing")).toBeNull();
  });

  it("every Set-Cookie of the origin reaches the client", async () => {
    const res = await call(key, "/echo/cookies?cookies=3");
    await res.arrayBuffer();
    expect(res.headers.getSetCookie()).toEqual(["c0=v0; Path=/", "c1=v1; Path=/", "c2=v2; Path=/"]);
  });
});
