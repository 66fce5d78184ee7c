// The alarm's upkeep (tenant-limiter.ts, UPKEEP_EVERY_MS): the purges and the deadlines hours or
// days away are looked at once a minute while a tenant keeps its limiter busy, not on every 5-s
// flush alarm — and always before the limiter goes idle, so a row made during a busy minute is
// still purged when it is due, with no request after it to wake the object.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import { ManualClock, setLimiterClock } from "../support/clock";
import { call, loadCatalog, tenantWithKey } from "../support/http";

const DAY = 24 * 60 * 60 * 1000; // how long a refund is remembered

describe("the alarm's upkeep", () => {
  it("a refund made while the tenant is busy is purged a day later, though nothing comes after it", async () => {
    await loadCatalog({
      currency: "USD",
      surfaces: { items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } } },
      plans: { p: { surfaces: { items: { rule: "metered", price: { unit: "0.001" } } } } },
    });
    const { key } = await tenantWithKey({ id: "upkeep", plan: "p" });
    const clock = new ManualClock(Date.now());
    await setLimiterClock("upkeep", clock);
    const stub = (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName("upkeep");
    const item = async () => expect((await call(key, "/items", { method: "POST", body: "[1]" })).status).toBe(200);
    const alarmAt = () => runInDurableObject(stub, (_: TenantLimiter, state) => state.storage.getAlarm());
    const refunds = () => runInDurableObject(stub, (_: TenantLimiter, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM refunds").one().n);

    await item();
    clock.advance(5_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // the first alarm of this instance does the upkeep

    // Within the same minute: a refund (a row kept a day), more traffic, and the alarms it brings.
    clock.advance(1_000);
    const refundAt = clock.now();
    expect(await stub.refund({ requestId: "upkeep-r1", surface: "items", periodStart: null, charge: { units: 1, cost: 1000, baseCost: 1000, savings: 0, overageUnits: 0, incentives: [] }, status: 502, reason: "origin-unavailable" })).toBe(true);
    await item();
    // Run every alarm that is due within minutes, at its time, until only far deadlines are left.
    for (let i = 0; i < 20; i++) {
      const at = await alarmAt();
      if (at === null || at > clock.now() + 10 * 60_000) break;
      clock.set(Math.max(clock.now(), at));
      expect(await runDurableObjectAlarm(stub)).toBe(true);
    }
    // Idle now: the next alarm is the refund's purge, a day after it was made.
    expect(await alarmAt()).toBe(refundAt + DAY);
    expect(await refunds()).toBe(1);
    clock.set(refundAt + DAY);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await refunds()).toBe(0);
  });
});
