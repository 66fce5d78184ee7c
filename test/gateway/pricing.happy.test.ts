// Meters and incentives through the real request path (CONTRACT §2).
import { beforeAll, describe, expect, it } from "vitest";
import type { RollupRow } from "../../src/metering/usage-rows";
import { adminOk, call, loadCatalog, tenantWithKey } from "../support/http";

let key: string;
beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      records: { routes: ["POST /records"], meter: { unit: "record", count: { from: "json-array", pointer: "/records" } } },
      events: { routes: ["GET /events"], meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } } },
      bytes: { routes: ["GET /bytes"], meter: { unit: "byte", count: { from: "response-bytes" } } },
      jobs: { routes: ["POST /jobs", "PUT /jobs", "GET /v1/events"] },
      billed: { routes: ["POST /billed"], meter: { unit: "record", count: { from: "json-array", pointer: "" } } },
    },
    plans: {
      p: {
        surfaces: {
          records: { rule: "metered", price: { unit: "0.001" } },
          events: { rule: "metered", price: { unit: "0.01" } },
          bytes: { rule: "metered", price: { unit: "0.000001" } },
          jobs: { rule: "metered", price: { unit: "0.333333" } },
          billed: { rule: "metered", quota: { limit: 5, period: "day", overage: "bill" }, price: { unit: "0.01", overage: "0.02" } },
        },
        incentives: { "idempotency-key": 0.9, batch: { minUnits: 10, multiplier: 0.5 }, conditional: 0.1 },
      },
      surcharged: {
        surfaces: { jobs: { rule: "metered", price: { unit: "1" } } },
        incentives: { "idempotency-key": 1.2 },
      },
    },
  });
  ({ key } = await tenantWithKey({ id: "pricing", plan: "p" }));
});

async function charged(res: Promise<Response>) {
  const r = await res;
  await r.arrayBuffer();
  return { status: r.status, units: r.headers.get("Tollgate-Units"), cost: r.headers.get("Tollgate-Cost"), incentives: r.headers.get("Tollgate-Incentives") };
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(key, path, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...headers } });

describe("meters", () => {
  it("json-array counts the array at the pointer", async () => {
    expect(await charged(post("/records", { records: [1, 2, 3] }))).toEqual({ status: 200, units: "3", cost: "0.003", incentives: null });
    expect(await charged(post("/records", { records: [] }))).toMatchObject({ units: "0", cost: "0" });
  });

  it("response-header reads the origin's count; missing or malformed is 1", async () => {
    expect(await charged(call(key, "/events?events=7"))).toMatchObject({ units: "7", cost: "0.07" });
    expect(await charged(call(key, "/events"))).toMatchObject({ units: "1", cost: "0.01" });
    expect(await charged(call(key, "/events?events=-4"))).toMatchObject({ units: "1", cost: "0.01" });
    expect(await charged(call(key, "/events?events=lots"))).toMatchObject({ units: "1", cost: "0.01" });
  });

  it("response-bytes uses Content-Length when the origin sends it", async () => {
    // 1500 units ≥ batch.minUnits, so the batch incentive applies to bytes too: 0.0015 × 0.5.
    expect(await charged(call(key, "/bytes?bytes=1500"))).toMatchObject({ units: "1500", cost: "0.00075", incentives: "batch" });
    expect(await charged(call(key, "/bytes?bytes=9"))).toMatchObject({ units: "9", cost: "0.000009", incentives: null });
  });

  it("response-bytes without Content-Length is charged when the body ends, without headers", async () => {
    const { key: k } = await tenantWithKey({ id: "chunked", plan: "p" });
    const res = await call(k, "/bytes?bytes=4096&chunked=1");
    expect(res.headers.get("Tollgate-Units")).toBeNull();
    expect(res.headers.get("Tollgate-Cost")).toBeNull();
    expect((await res.arrayBuffer()).byteLength).toBe(4096);
    type Limits = Record<string, { inFlight: number }>;
    await expect.poll(async () => (await adminOk<Limits>("GET", "/tenants/chunked/limits")).bytes!.inFlight).toBe(0);
    // 4096 bytes × 0.000001, halved by the batch incentive (≥ 10 units): charged once, exactly.
    const rows = await adminOk<RollupRow[]>("GET", "/usage?tenant=chunked&granularity=day");
    expect(rows).toEqual([
      expect.objectContaining({ surface: "bytes", requests: 1, charged: 1, units: 4096, cost: "0.002048", savings: "0.002048", incentives: { batch: 1 } }),
    ]);
  });
});

describe("incentives", () => {
  it("batch: units ≥ minUnits halve the cost", async () => {
    const ten = Array.from({ length: 10 }, (_, i) => i);
    expect(await charged(post("/records", { records: ten }))).toEqual({ status: 200, units: "10", cost: "0.005", incentives: "batch" });
  });

  it("idempotency-key on an unsafe request, alone and with batch", async () => {
    expect(await charged(post("/records", { records: [1] }, { "Idempotency-Key": '"k-one"' }))).toMatchObject({ cost: "0.0009", incentives: "idempotency-key" });
    const twenty = Array.from({ length: 20 }, (_, i) => i);
    expect(await charged(post("/records", { records: twenty }, { "Idempotency-Key": "k-two" }))).toMatchObject({
      units: "20",
      cost: "0.009", // 20 × 0.001 × 0.9 × 0.5
      incentives: "idempotency-key, batch",
    });
    // PUT carries the incentive too (unsafe), though only POST/PATCH answers are kept.
    expect(await charged(call(key, "/jobs", { method: "PUT", headers: { "Idempotency-Key": "k-put" } }))).toMatchObject({ incentives: "idempotency-key" });
  });

  it("conditional: a 304 to If-None-Match costs a tenth", async () => {
    const first = await call(key, "/v1/events");
    const etag = first.headers.get("ETag")!;
    await first.arrayBuffer();
    expect(first.headers.get("Tollgate-Cost")).toBe("0.333333");
    const again = await charged(call(key, "/v1/events", { headers: { "If-None-Match": etag } }));
    expect(again).toEqual({ status: 304, units: "1", cost: "0.033333", incentives: "conditional" }); // 333333 × 0.1 = 33333.3
    // A conditional request the origin answers in full earns nothing.
    expect(await charged(call(key, "/v1/events", { headers: { "If-None-Match": '"stale"' } }))).toMatchObject({ status: 200, incentives: null });
  });

  it("rounds the discounted cost half-even to the micro-unit", async () => {
    // 0.333333 × 0.9 = 0.2999997 → 0.3
    expect(await charged(call(key, "/jobs", { method: "POST", headers: { "Idempotency-Key": "k-round" } }))).toMatchObject({ cost: "0.3", incentives: "idempotency-key" });
  });

  it("a multiplier above 1 is a surcharge, reported the same way", async () => {
    const { key: other } = await tenantWithKey({ id: "surcharged", plan: "surcharged" });
    const r = await call(other, "/jobs", { method: "POST", headers: { "Idempotency-Key": "k" } });
    await r.arrayBuffer();
    expect([r.headers.get("Tollgate-Cost"), r.headers.get("Tollgate-Incentives")]).toEqual(["1.2", "idempotency-key"]);
  });
});

describe("overage billing", () => {
  it("admits past a `bill` quota and charges the excess at the overage price", async () => {
    const { key: k } = await tenantWithKey({ id: "overage", plan: "p" });
    const send = (n: number) => charged(call(k, "/billed", { method: "POST", body: JSON.stringify(Array.from({ length: n }, () => 0)) }));
    expect(await send(4)).toMatchObject({ status: 200, cost: "0.04" });
    expect(await send(3)).toMatchObject({ status: 200, cost: "0.05" }); // 1 × 0.01 + 2 × 0.02
    expect(await send(2)).toMatchObject({ status: 200, cost: "0.04" });
  });
});

describe("failures cost nothing", () => {
  it("an origin 5xx is not charged and uses no quota", async () => {
    expect(await charged(post("/records?status=500", { records: [1, 2] }))).toEqual({ status: 500, units: "0", cost: "0", incentives: null });
    expect(await charged(post("/records?status=503", { records: [1, 2] }))).toMatchObject({ status: 503, cost: "0" });
    expect(await charged(post("/records?status=499", { records: [1, 2] }))).toMatchObject({ status: 499, cost: "0.002" });
  });
});
