// Governance events from the tenant's limiter (issue 12): quota.threshold once per period per
// threshold, quota.exhausted once per period, surface.sunset-call once per surface and day — from
// a durable outbox, delivered by the hub, verified with the standardwebhooks package, and never
// repeated across a restart of the limiter.
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { admin, call, loadCatalog, tenantWithKey } from "../support/http";
import { createEndpoint, receiver, runHubAlarm, verified } from "../support/webhooks";

const created: string[] = [];
afterEach(async () => {
  for (const id of created.splice(0)) await (await admin("DELETE", `/webhooks/${id}`)).arrayBuffer();
});

const limiter = (tenant: string) => env.LIMITER.getByName(tenant);

/** Runs the tenant's alarm (flush, alerts, hand-over), then the hub's (delivery). */
async function deliver(tenant: string) {
  await runDurableObjectAlarm(limiter(tenant));
  await runHubAlarm();
}

describe("governance events from the limiter", () => {
  it("sends each quota threshold once per period, and exhaustion once, across a restart of the limiter", async () => {
    await loadCatalog({
      currency: "USD",
      surfaces: { q: { routes: ["GET /q"] }, old: { routes: ["GET /old"], deprecatedAt: new Date(Date.now() - 86_400_000).toISOString() } },
      plans: { p: { surfaces: { q: { rule: "metered", price: { unit: "0.01" }, quota: { limit: 4, period: "day", overage: "bill", alerts: [0.5, 1] } }, old: { rule: "included" } } } },
    });
    const hook = receiver();
    const e = await createEndpoint({ url: hook.url(), events: ["quota.threshold", "quota.exhausted", "surface.sunset-call"] });
    created.push(e.id);
    const { key } = await tenantWithKey({ id: "alerts-a", plan: "p" });
    const send = async (path: string, n: number) => {
      for (let i = 0; i < n; i++) await (await call(key, path)).arrayBuffer();
    };

    await send("/q", 2);
    await deliver("alerts-a");
    let got = (await hook.received()).map((d) => verified(e.secret, d) as { type: string; data: { threshold?: number; used: number } });
    expect(got.map((b) => [b.type, b.data.threshold, b.data.used])).toEqual([["quota.threshold", 0.5, 2]]);

    await send("/q", 3); // past the limit: billed as overage, and exhausted
    await deliver("alerts-a");
    await evictDurableObject(limiter("alerts-a"));
    await send("/q", 1);
    await send("/old", 3);
    await deliver("alerts-a");
    const received = await hook.received();
    got = received.map((d) => verified(e.secret, d) as { type: string; data: { threshold?: number; used: number } });
    expect(got.map((b) => `${b.type} ${b.data.threshold ?? ""}`).sort()).toEqual(["quota.exhausted ", "quota.threshold 0.5", "quota.threshold 1", "surface.sunset-call "]);
    const ids = received.map((d) => d.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^quota\.threshold:alerts-a:q:\d+:0\.5$/);
  });
});
