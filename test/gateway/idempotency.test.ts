// Idempotency-Key (CONTRACT §3): replays, races, reuse, 5xx, isolation and expiry.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { IDEMPOTENCY_BODY_CAP, IDEMPOTENCY_TTL_MS } from "../../src/limiter/idempotency";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import { ManualClock } from "../support/clock";
import { adminOk, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";
import { originHold, sendHeld } from "../support/origin";

let key: string;
beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: { orders: { routes: ["POST /orders/*", "PATCH /orders/*", "GET /orders/*"], meter: { unit: "order" } } },
    plans: { p: { surfaces: { orders: { rule: "metered", price: { unit: "0.5" }, quota: { limit: 100, period: "month" } } }, incentives: { "idempotency-key": 0.9 } } },
  });
  ({ key } = await tenantWithKey({ id: "idem", plan: "p" }));
});

const hits = async (path: string): Promise<number> => {
  const res = await fetch(`${env.ORIGIN_URL}/_origin/hits`);
  return (await res.json<Record<string, number>>())[path] ?? 0;
};

const order = (k: string, path: string, idem: string, body = '{"sku":"a"}', method = "POST") =>
  call(k, path, { method, body, headers: { "Idempotency-Key": idem, "Content-Type": "application/json" } });

describe("idempotent retries", () => {
  it("replay the stored answer byte for byte, uncharged, without reaching the origin", async () => {
    const first = await order(key, "/orders/one?x=1", "key-1");
    const firstBody = await first.arrayBuffer();
    expect(first.status).toBe(200);
    expect(first.headers.get("Tollgate-Cost")).toBe("0.45");
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();

    const again = await order(key, "/orders/one?x=1", "key-1");
    const againBody = await again.arrayBuffer();
    expect(again.status).toBe(200);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(new Uint8Array(againBody)).toEqual(new Uint8Array(firstBody));
    expect(again.headers.get("Content-Type")).toBe(first.headers.get("Content-Type"));
    expect([again.headers.get("Tollgate-Units"), again.headers.get("Tollgate-Cost")]).toEqual(["0", "0"]);
    expect(again.headers.get("Tollgate-Request-Id")).not.toBe(first.headers.get("Tollgate-Request-Id"));
    expect(await hits("POST /orders/one")).toBe(1);
  });

  it("a replay uses no quota", async () => {
    const { key: k } = await tenantWithKey({ id: "idem-quota", plan: "p" });
    for (let i = 0; i < 3; i++) await (await order(k, "/orders/q", "same")).arrayBuffer();
    const limits = await adminOk<Record<string, { quota: { used: number } }>>("GET", "/tenants/idem-quota/limits");
    expect(limits.orders!.quota.used).toBe(1);
  });

  it("replays non-2xx answers below 500 too, with their status", async () => {
    const first = await order(key, "/orders/missing?status=404", "key-404");
    await first.arrayBuffer();
    const again = await order(key, "/orders/missing?status=404", "key-404");
    await again.arrayBuffer();
    expect([first.status, again.status, again.headers.get("Idempotent-Replayed")]).toEqual([404, 404, "true"]);
    expect(await hits("POST /orders/missing")).toBe(1);
  });

  it("accept the key as a structured-field string or a bare token (the same key)", async () => {
    await (await order(key, "/orders/sf", '"tok-1"')).arrayBuffer();
    const bare = await order(key, "/orders/sf", "tok-1");
    await bare.arrayBuffer();
    expect(bare.headers.get("Idempotent-Replayed")).toBe("true");
  });

  it("409 idempotency-key-in-use while the first is in flight", async () => {
    const hold = originHold();
    const path = `/orders/slow?${hold.query}`;
    const init = { method: "POST", body: '{"sku":"a"}', headers: { Authorization: `Bearer ${key}`, "Idempotency-Key": "key-race", "Content-Type": "application/json" } };
    const first = sendHeld(path, init);
    await expect.poll(async () => (await adminOk<Record<string, { inFlight: number }>>("GET", "/tenants/idem/limits")).orders!.inFlight).toBe(1);
    const second = await order(key, path, "key-race");
    await expectProblem(second, 409, "idempotency-key-in-use");
    await hold.release();
    const done = await first;
    expect(done.status).toBe(200);
    await done.arrayBuffer();
    expect(await hits("POST /orders/slow")).toBe(1);
  });

  it("422 idempotency-key-reused for a different body, path or method", async () => {
    await (await order(key, "/orders/r", "key-reuse", '{"sku":"a"}')).arrayBuffer();
    await expectProblem(await order(key, "/orders/r", "key-reuse", '{"sku":"b"}'), 422, "idempotency-key-reused");
    await expectProblem(await order(key, "/orders/r?v=2", "key-reuse", '{"sku":"a"}'), 422, "idempotency-key-reused");
    await expectProblem(await order(key, "/orders/r", "key-reuse", '{"sku":"a"}', "PATCH"), 422, "idempotency-key-reused");
    expect(await hits("POST /orders/r")).toBe(1);
  });

  it("a first attempt answered 5xx is not stored: the retry is forwarded and charged once", async () => {
    const failed = await order(key, "/orders/flaky?status=503", "key-5xx");
    await failed.arrayBuffer();
    expect([failed.status, failed.headers.get("Tollgate-Cost")]).toEqual([503, "0"]);
    const retry = await order(key, "/orders/flaky?status=503", "key-5xx");
    await retry.arrayBuffer();
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await hits("POST /orders/flaky")).toBe(2);
  });

  it("keys are isolated per tenant", async () => {
    const { key: other } = await tenantWithKey({ id: "idem-other", plan: "p" });
    await (await order(key, "/orders/iso", "shared-key")).arrayBuffer();
    const theirs = await order(other, "/orders/iso", "shared-key", '{"sku":"different"}');
    await theirs.arrayBuffer();
    expect(theirs.status).toBe(200);
    expect(theirs.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await hits("POST /orders/iso")).toBe(2);
  });

  it("GET ignores the key for storage", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await call(key, "/orders/list", { headers: { "Idempotency-Key": "get-key" } });
      await r.arrayBuffer();
      expect(r.headers.get("Idempotent-Replayed")).toBeNull();
    }
    expect(await hits("GET /orders/list")).toBe(2);
  });

  it("a malformed key is invalid-request and is not forwarded", async () => {
    await expectProblem(await order(key, "/orders/bad", "a".repeat(256)), 400, "invalid-request");
    await expectProblem(await order(key, "/orders/bad", '"unterminated'), 400, "invalid-request");
    expect(await hits("POST /orders/bad")).toBe(0);
  });
});

describe("expiry", () => {
  it("records live 24 hours and are purged by the alarm", async () => {
    const { key: k } = await tenantWithKey({ id: "idem-expiry", plan: "p" });
    const stub = (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName("idem-expiry");
    const clock = new ManualClock(Date.now());
    await runInDurableObject(stub, (instance: TenantLimiter) => {
      instance.clock = clock;
    });
    await (await order(k, "/orders/exp", "old-key")).arrayBuffer();
    const count = () => runInDurableObject(stub, (_: TenantLimiter, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM idempotency").one().n);
    expect(await count()).toBe(1);

    clock.advance(IDEMPOTENCY_TTL_MS - 1000);
    const within = await order(k, "/orders/exp", "old-key");
    await within.arrayBuffer();
    expect(within.headers.get("Idempotent-Replayed")).toBe("true");

    clock.advance(2000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await count()).toBe(0);
    const after = await order(k, "/orders/exp", "old-key");
    await after.arrayBuffer();
    expect(after.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await hits("POST /orders/exp")).toBe(2);
    await runDurableObjectAlarm(stub); // drain the alarm the new record set
  });
});

describe("the 1 MiB cap on kept answers", () => {
  it("an answer above the cap streams through whole, is charged once, is not kept: the retry is forwarded", async () => {
    const { key: k } = await tenantWithKey({ id: "idem-cap", plan: "p" });
    const big = IDEMPOTENCY_BODY_CAP + 4096;
    const first = await order(k, `/orders/big?bytes=${big}`, "big-key");
    expect(first.status).toBe(200);
    expect(first.headers.get("Tollgate-Cost")).toBe("0.45");
    expect((await first.arrayBuffer()).byteLength).toBe(big);
    const retry = await order(k, `/orders/big?bytes=${big}`, "big-key");
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
    expect((await retry.arrayBuffer()).byteLength).toBe(big);
    expect(await hits("POST /orders/big")).toBe(2);
    // Just under the cap is kept and replayed.
    const small = IDEMPOTENCY_BODY_CAP - 1024;
    await (await order(k, `/orders/small?bytes=${small}`, "small-key")).arrayBuffer();
    const replay = await order(k, `/orders/small?bytes=${small}`, "small-key");
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect((await replay.arrayBuffer()).byteLength).toBe(small);
    const rows = await adminOk<{ charged: number; units: number }[]>("GET", "/usage?tenant=idem-cap&granularity=month");
    expect(rows.reduce((n, r) => n + r.charged, 0)).toBe(3);
  });
});
