// Admission is atomic in the tenant's limiter: parallel requests never over-admit, and
// concurrency slots are held while a request is in flight and freed however it ends.
import { beforeAll, describe, expect, it } from "vitest";
import { sendWith } from "../support/faults";
import { adminOk, call, loadCatalog, tenantWithKey } from "../support/http";
import { originHold, sendHeld } from "../support/origin";

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      quota20: { routes: ["GET /quota20/*"] },
      records: { routes: ["POST /records"], meter: { unit: "record", count: { from: "json-array", pointer: "" } } },
      single: { routes: ["GET /single/*"] },
      bytes: { routes: ["GET /bytes/*"], meter: { unit: "byte", count: { from: "response-bytes" } } },
    },
    plans: {
      p: {
        surfaces: {
          quota20: { rule: "included", quota: { limit: 20, period: "month" } },
          records: { rule: "metered", price: { unit: "0.001" }, quota: { limit: 10, period: "day" } },
          single: { rule: "included", concurrency: 1 },
          bytes: { rule: "included", concurrency: 1 },
        },
      },
    },
  });
});

const statuses = async (responses: Promise<Response>[]) =>
  Promise.all(responses.map(async (r) => {
    const res = await r;
    await res.arrayBuffer();
    return res.status;
  }));

describe("quota under parallel load", () => {
  it("40 parallel requests against a quota of 20 admit exactly 20", async () => {
    const { key } = await tenantWithKey({ id: "parallel", plan: "p" });
    const all = await statuses(Array.from({ length: 40 }, (_, i) => call(key, `/quota20/${i}`)));
    expect(all.filter((s) => s === 200)).toHaveLength(20);
    expect(all.filter((s) => s === 429)).toHaveLength(20);
    const limits = await adminOk<Record<string, { quota: { used: number; remaining: number } }>>("GET", "/tenants/parallel/limits");
    expect(limits.quota20!.quota).toMatchObject({ used: 20, remaining: 0 });
  });

  it("counts units, not requests: batches of 3 against 10 admit 3 batches", async () => {
    const { key } = await tenantWithKey({ id: "batches", plan: "p" });
    const body = JSON.stringify([1, 2, 3]);
    const all = await statuses(Array.from({ length: 6 }, () => call(key, "/records", { method: "POST", body })));
    expect(all.filter((s) => s === 200)).toHaveLength(3);
  });

  it("origin failures use no quota", async () => {
    const { key } = await tenantWithKey({ id: "failures", plan: "p" });
    // One at a time: in flight, each holds a reservation against the quota.
    for (let i = 0; i < 25; i++) expect(await statuses([call(key, `/quota20/${i}?status=503`)])).toEqual([503]);
    const ok = await statuses(Array.from({ length: 25 }, (_, i) => call(key, `/quota20/${i}`)));
    expect(ok.filter((s) => s === 200)).toHaveLength(20);
  });
});

describe("concurrency slots", () => {
  it("refuse a second in-flight request and free the slot when the first ends", async () => {
    const { key } = await tenantWithKey({ id: "slots", plan: "p" });
    const hold = originHold();
    const first = sendHeld(`/single/slow?${hold.query}`, { headers: { Authorization: `Bearer ${key}` } });
    await expect.poll(async () => (await adminOk<Record<string, { inFlight: number }>>("GET", "/tenants/slots/limits")).single!.inFlight).toBe(1);
    const second = await call(key, "/single/fast");
    expect(second.status).toBe(429);
    expect((await second.json<{ type: string; "violated-policies": string[] }>())).toMatchObject({
      type: "urn:tollgate:problem:concurrency-limited",
      "violated-policies": ["concurrency"],
    });
    expect(second.headers.get("Retry-After")).toBe("1");
    await hold.release();
    const done = await first;
    expect(done.status).toBe(200);
    await done.arrayBuffer();
    const third = await call(key, "/single/fast");
    expect(third.status).toBe(200);
    await third.arrayBuffer();
  });

  it("hold the slot while the response body streams, and free it when the body ends", async () => {
    const { key } = await tenantWithKey({ id: "streams", plan: "p" });
    const res = await call(key, "/bytes/big?bytes=200000&chunked=1");
    expect(res.status).toBe(200);
    const blocked = await call(key, "/bytes/other?bytes=10");
    expect(blocked.status).toBe(429);
    await blocked.arrayBuffer();
    expect((await res.arrayBuffer()).byteLength).toBe(200000);
    await expect.poll(async () => {
      const r = await call(key, "/bytes/other?bytes=10");
      await r.arrayBuffer();
      return r.status;
    }).toBe(200);
  });

  it("free the slot when the origin fails", async () => {
    const { key } = await tenantWithKey({ id: "slot-fail", plan: "p" });
    const failed = await call(key, "/single/x?status=500");
    expect(failed.status).toBe(500);
    await failed.arrayBuffer();
    const next = await call(key, "/single/y");
    expect(next.status).toBe(200);
    await next.arrayBuffer();
  });

  it("free the slot when the origin times out or is unreachable", async () => {
    const { key } = await tenantWithKey({ id: "slot-timeout", plan: "p" });
    const auth = { headers: { Authorization: `Bearer ${key}` } };
    const timedOut = await sendWith({ ORIGIN_TIMEOUT_MS: "100" }, "/single/x?delay=500", auth);
    expect(timedOut.status).toBe(504);
    await timedOut.arrayBuffer();
    const unreachable = await sendWith({ ORIGIN_URL: "http://127.0.0.1:9" }, "/single/x", auth);
    expect(unreachable.status).toBe(502);
    await unreachable.arrayBuffer();
    const next = await call(key, "/single/y");
    expect(next.status).toBe(200);
    await next.arrayBuffer();
    const limits = await adminOk<Record<string, { inFlight: number }>>("GET", "/tenants/slot-timeout/limits");
    expect(limits.single!.inFlight).toBe(0);
  });
});

describe("quota with units known only from the response", () => {
  it("admits while any quota remains, charges the actual units (overshooting the quota once), then refuses", async () => {
    await loadCatalog({
      currency: "USD",
      surfaces: { feed: { routes: ["GET /v1/events"], meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } } } },
      plans: { p: { surfaces: { feed: { rule: "metered", price: { unit: "0.01" }, quota: { limit: 10, period: "month" } } } } },
    });
    const { key } = await tenantWithKey({ id: "overshoot", plan: "p" });
    const feed = async (n: number) => {
      const res = await call(key, `/v1/events?limit=${n}`);
      await res.arrayBuffer();
      return { status: res.status, units: res.headers.get("Tollgate-Units") };
    };
    expect(await feed(6)).toEqual({ status: 200, units: "6" });
    expect(await feed(7)).toEqual({ status: 200, units: "7" }); // 4 remained: admitted, all 7 charged
    expect((await feed(1)).status).toBe(429);
    const limits = await adminOk<Record<string, { quota: { used: number; remaining: number } }>>("GET", "/tenants/overshoot/limits");
    expect(limits.feed!.quota).toMatchObject({ used: 13, remaining: 0 });
    const rows = await adminOk<{ units: number; cost: string }[]>("GET", "/usage?tenant=overshoot&granularity=month");
    expect(rows.reduce((n, r) => n + r.units, 0)).toBe(13);
  });
});
