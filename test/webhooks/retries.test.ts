// Delivery under failure, with the hub's clock under the test's control (CONTRACT §8): retries
// follow Standard Webhooks' schedule with the same webhook-id, an event id is delivered once
// however often it is enqueued (also after a restart), a deleted endpoint gets nothing more, a
// delivery still failing 24 h after its first attempt is `failed`, and old rows are purged.
//
// The clock runs a year ahead of real time, so the alarms the hub sets never run on their own:
// each runs when the test says (runHubAlarm), after the test moved the clock.
import { evictDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DELIVERY_RETENTION_MS, EVENT_MEMORY_MS } from "../../src/webhooks/hub";
import type { WebhookEvent } from "../../src/webhooks/events";
import { ManualClock } from "../support/clock";
import { admin } from "../support/http";
import { attemptsOf, createEndpoint, hub, hubAlarm, receiver, runHubAlarm, setHubClock, verified } from "../support/webhooks";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const YEAR = 365 * 24 * HOUR;

let clock: ManualClock;
const created: string[] = [];

beforeEach(async () => {
  clock = new ManualClock(Date.now() + YEAR);
  await setHubClock(clock);
});

afterEach(async () => {
  for (const id of created.splice(0)) await (await admin("DELETE", `/webhooks/${id}`)).arrayBuffer();
});

async function endpoint(url: string, events = ["tenant.updated"]) {
  const e = await createEndpoint({ url, events });
  created.push(e.id);
  return e;
}

const event = (id: string, data: unknown = { n: 1 }): WebhookEvent => ({ id, type: "tenant.updated", timestamp: new Date(clock.now()).toISOString(), data });

describe("retries", () => {
  it("an endpoint that fails twice gets the same webhook-id three times, on the schedule; the log shows 500, 500, 204", async () => {
    const hook = receiver();
    const e = await endpoint(hook.url(2));
    expect(await hub().enqueue([event("evt-retried")])).toEqual({ accepted: 1, deliveries: 1 });
    const times = [clock.now()];
    expect(await hubAlarm()).toBe(clock.now());
    await runHubAlarm();
    expect((await hook.received()).map((d) => d.status)).toEqual([500]);

    // The first retry is due 5 s later, not before.
    clock.advance(5 * SECOND - 1);
    await runHubAlarm();
    expect(await hook.received()).toHaveLength(1);
    clock.advance(1);
    times.push(clock.now());
    await runHubAlarm();
    expect((await hook.received()).map((d) => d.status)).toEqual([500, 500]);

    // The second 5 min after that.
    clock.advance(5 * MINUTE - 1);
    await runHubAlarm();
    expect(await hook.received()).toHaveLength(2);
    clock.advance(1);
    times.push(clock.now());
    await runHubAlarm();

    const received = await hook.received();
    expect(received.map((d) => d.status)).toEqual([500, 500, 204]);
    expect(received.map((d) => d.headers["webhook-id"])).toEqual(["evt-retried", "evt-retried", "evt-retried"]);
    // The same body every time, signed afresh for each attempt's time; each verifies at that time.
    expect(new Set(received.map((d) => d.body)).size).toBe(1);
    expect(received.map((d) => Number(d.headers["webhook-timestamp"]) * 1000)).toEqual(times.map((t) => Math.floor(t / 1000) * 1000));
    received.forEach((d, i) => expect(verified(e.secret, d, times[i])).toMatchObject({ type: "tenant.updated", data: { n: 1 } }));

    const log = await attemptsOf(e.id);
    expect(log.map((a) => [a.id, a.event, a.status, a.attempt, a.state, a.at])).toEqual([
      ["evt-retried", "tenant.updated", 500, 1, "delivered", new Date(times[0]!).toISOString()],
      ["evt-retried", "tenant.updated", 500, 2, "delivered", new Date(times[1]!).toISOString()],
      ["evt-retried", "tenant.updated", 204, 3, "delivered", new Date(times[2]!).toISOString()],
    ]);
    // Delivered: nothing is due any more.
    await runHubAlarm();
    expect(await hook.received()).toHaveLength(3);
  });

  it("a network error is an attempt with no status and an error, and is retried", async () => {
    const e = await endpoint("http://127.0.0.1:1/hooks");
    await hub().enqueue([event("evt-unreachable")]);
    await runHubAlarm();
    const [first] = await attemptsOf(e.id);
    expect(first).toMatchObject({ id: "evt-unreachable", status: null, attempt: 1, state: "pending" });
    expect(first!.error).toEqual(expect.any(String));
    expect(await hubAlarm()).toBe(clock.now() + 5 * SECOND);
  });

  it("a delivery still failing 24 h after its first attempt becomes failed, after the last retry at 24 h", async () => {
    const hook = receiver();
    const e = await endpoint(hook.url(1000));
    await hub().enqueue([event("evt-doomed")]);
    const first = clock.now();
    await runHubAlarm();
    // Step from alarm to alarm, as time would.
    for (let i = 0; i < 20 && (await attemptsOf(e.id)).at(-1)?.state === "pending"; i++) {
      const due = await hubAlarm();
      expect(due).not.toBeNull();
      if (due! === first + 24 * HOUR) {
        // Just before the last attempt the delivery is still pending.
        clock.set(due! - 1);
        await runHubAlarm();
        expect((await attemptsOf(e.id)).at(-1)?.state).toBe("pending");
      }
      clock.set(due!);
      await runHubAlarm();
    }
    const log = await attemptsOf(e.id);
    expect(log.map((a) => Date.parse(a.at) - first)).toEqual([
      0,
      5 * SECOND,
      5 * MINUTE + 5 * SECOND,
      35 * MINUTE + 5 * SECOND,
      2 * HOUR + 35 * MINUTE + 5 * SECOND,
      7 * HOUR + 35 * MINUTE + 5 * SECOND,
      17 * HOUR + 35 * MINUTE + 5 * SECOND,
      24 * HOUR,
    ]);
    expect(log.every((a) => a.state === "failed" && a.status === 500)).toBe(true);
    expect((await hook.received()).length).toBe(8);
    expect((await hub().stats()).deliveries.pending).toBe(0);
    // Failed is final: a day later nothing more is sent.
    clock.advance(24 * HOUR);
    await runHubAlarm();
    expect((await hook.received()).length).toBe(8);
  });
});

describe("once per event id", () => {
  it("an event enqueued twice is delivered once, also when enqueued again after the hub restarted", async () => {
    const hook = receiver();
    const e = await endpoint(hook.url());
    expect(await hub().enqueue([event("evt-once", { v: 1 })])).toEqual({ accepted: 1, deliveries: 1 });
    expect(await hub().enqueue([event("evt-once", { v: 2 })])).toEqual({ accepted: 0, deliveries: 0 });
    await runHubAlarm();
    await runHubAlarm();

    await evictDurableObject(hub());
    await setHubClock(clock); // a restart brings the system clock back
    clock.advance(HOUR);
    expect(await hub().enqueue([event("evt-once", { v: 3 }), event("evt-other")])).toEqual({ accepted: 1, deliveries: 1 });
    await runHubAlarm();

    const received = await hook.received();
    expect(received.map((d) => d.headers["webhook-id"])).toEqual(["evt-once", "evt-other"]);
    expect(verified(e.secret, received[0]!, clock.now() - HOUR)).toMatchObject({ data: { v: 1 } });
  });
});

describe("deleted endpoints", () => {
  it("a deleted endpoint gets nothing more: no retry of an earlier event, no later event", async () => {
    const hook = receiver();
    const e = await createEndpoint({ url: hook.url(1), events: ["*"] });
    await hub().enqueue([event("evt-before-delete")]);
    await runHubAlarm();
    expect((await hook.received()).map((d) => d.status)).toEqual([500]);

    expect((await admin("DELETE", `/webhooks/${e.id}`)).status).toBe(204);
    clock.advance(5 * SECOND);
    await runHubAlarm();
    expect(await hub().enqueue([event("evt-after-delete")])).toEqual({ accepted: 1, deliveries: 0 });
    clock.advance(HOUR);
    await runHubAlarm();
    expect(await hook.received()).toHaveLength(1);
    expect((await hub().stats()).deliveries.pending).toBe(0);
  });
});

describe("bounded storage", () => {
  it("finished deliveries and their attempts go 7 days after they ended, deleted endpoints with them, event ids after 35 days", async () => {
    const hook = receiver();
    const e = await createEndpoint({ url: hook.url(), events: ["*"] });
    await hub().enqueue([event("evt-kept")]);
    await runHubAlarm();
    const done = clock.now();
    expect(await attemptsOf(e.id)).toHaveLength(1);

    clock.set(done + DELIVERY_RETENTION_MS - 1);
    await runHubAlarm();
    expect(await attemptsOf(e.id)).toHaveLength(1);
    clock.set(done + DELIVERY_RETENTION_MS);
    await runHubAlarm();
    expect(await attemptsOf(e.id)).toEqual([]);
    // The id is still remembered: enqueued again, it is ignored.
    expect(await hub().enqueue([event("evt-kept")])).toEqual({ accepted: 0, deliveries: 0 });

    // Everything this file left behind is purged once its time has come, and then no alarm is set.
    expect((await admin("DELETE", `/webhooks/${e.id}`)).status).toBe(204);
    clock.advance(EVENT_MEMORY_MS + 30 * 24 * HOUR);
    for (let i = 0; i < 5 && (await hubAlarm()) !== null; i++) await runHubAlarm();
    expect(await hub().stats()).toEqual({ endpoints: 0, messages: 0, deliveries: { pending: 0, delivered: 0, failed: 0 }, attempts: 0 });
    expect(await hubAlarm()).toBeNull();

    // An event no endpoint wants is remembered, and purged in its time too.
    expect(await hub().enqueue([event("evt-unwanted")])).toEqual({ accepted: 1, deliveries: 0 });
    expect(await hubAlarm()).toBe(clock.now() + EVENT_MEMORY_MS);
    clock.advance(EVENT_MEMORY_MS);
    await runHubAlarm();
    expect((await hub().stats()).messages).toBe(0);
    expect(await hubAlarm()).toBeNull();
  });
});
