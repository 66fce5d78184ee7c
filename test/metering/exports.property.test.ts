// Nothing billed twice, nothing dropped (CONTRACT §10, §11), over random interleavings of requests
// counted in past hours (the limiters' clocks), exports of units and of cost at moving times (some
// with again=true, some at once), and units arriving in hours already exported: at the end, for
// every payer, surface, hour and value kind, the meter events handed out — originals and
// corrections, each identifier counted once, as Stripe deduplicates them — add up to the hour
// rollups, and every closed hour that cost something was exported.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { parseList } from "structured-headers";
import { beforeAll, describe, expect, it } from "vitest";
import { parseMoney } from "../../src/pricing/money";
import { ManualClock, sendAt, setLimiterClock } from "../support/clock";
import { adminOk, call, loadCatalog } from "../support/http";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const HOURS = 6; // the exports' clock stops HOURS + 1 hours into a run's day
const knobs = env as unknown as { FUZZ_RUNS?: string; FUZZ_SEED?: string };
const RUNS = Number(knobs.FUZZ_RUNS || 6);
const SEED = knobs.FUZZ_SEED ? Number(knobs.FUZZ_SEED) : undefined;

beforeAll(async () => {
  await loadCatalog(
    {
      currency: "USD",
      surfaces: {
        a: { routes: ["POST /pa"], meter: { unit: "item", count: { from: "json-array", pointer: "/items" } } },
        b: { routes: ["POST /pb"], meter: { unit: "item", count: { from: "json-array", pointer: "/items" } } },
      },
      plans: {
        cust: { surfaces: { a: { rule: "metered", price: { unit: "0.013" } }, b: { rule: "metered", price: { unit: "0.000777" } } } },
        part: { surfaces: { a: { rule: "metered", price: { unit: "0.021" } }, b: { rule: "metered", price: { unit: "0.0011" } } } },
      },
    },
    { force: true },
  );
});

type Step =
  | { kind: "request"; who: number; surface: "a" | "b"; items: number; back: number; minute: number }
  | { kind: "export"; value: "units" | "cost"; advance: number; again: boolean; twice: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("request" as const), who: fc.integer({ min: 0, max: 2 }), surface: fc.constantFrom("a" as const, "b" as const), items: fc.integer({ min: 0, max: 7 }), back: fc.nat(3), minute: fc.nat(59) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("export" as const), value: fc.constantFrom("units" as const, "cost" as const), advance: fc.nat(2 * HOUR), again: fc.boolean(), twice: fc.boolean() }) },
);

interface MeterEvent {
  event_name: string;
  payload: { stripe_customer_id: string; value: string };
  identifier: string;
  timestamp: number;
}


describe("exports (property)", () => {
  it("hand out, per payer × surface × hour × value kind, exactly the hour rollups: originals plus corrections, each identifier once", async () => {
    let run = 0;
    let corrections = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 8, maxLength: 20 }), async (steps) => {
        run++;
        const tag = `x${run}${crypto.randomUUID().slice(0, 6)}`;
        const day = Date.parse("2026-06-01T00:00:00Z") + run * 2 * DAY; // a day of its own: exports cover every tenant
        const from = new Date(day).toISOString();
        const to = new Date(day + DAY).toISOString();
        const clock = new ManualClock(day);
        // Two customers; a partner that pays for its calls on behalf of the first (billed to itself).
        const ids = [`${tag}-c0`, `${tag}-c1`, `${tag}-p`];
        const keys: string[] = [];
        for (const [i, id] of ids.entries()) {
          await adminOk("POST", "/tenants", { id, kind: i === 2 ? "partner" : "customer", plan: i === 2 ? "part" : "cust", billing: { stripeCustomerId: `cus_${id}` } }, 201);
          keys.push((await adminOk<{ key: string }>("POST", `/tenants/${id}/keys`, {}, 201)).key);
          await setLimiterClock(id, clock);
        }
        await adminOk("POST", "/grants", { partner: ids[2], customer: ids[0], surfaces: "*", payer: "partner" }, 201);

        // identifier → [kind, event]: the same identifier must always carry the same event.
        const handedOut = new Map<string, { kind: "units" | "cost"; event: MeterEvent }>();
        const exportAt = async (now: number, value: "units" | "cost", again: boolean) => {
          const res = await sendAt(new ManualClock(now), `/_tollgate/admin/usage/export?format=stripe&value=${value}&from=${from}&to=${to}${again ? "&again=true" : ""}`, {
            headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
          });
          const text = new TextDecoder().decode(await res.arrayBuffer());
          expect(res.status, text).toBe(200);
          expect(res.headers.get("Tollgate-Export-Negative")).toBeNull();
          const events = text === "" ? [] : text.trimEnd().split("\n").map((l) => JSON.parse(l) as MeterEvent);
          const hours = parseList(res.headers.get("Tollgate-Export-Hours") ?? "").map(([h]) => h as string);
          expect(hours).toEqual([...new Set(events.map((e) => new Date((e.timestamp - 1800) * 1000).toISOString()))].sort());
          for (const e of events) {
            if (!ids.some((id) => e.payload.stripe_customer_id === `cus_${id}`)) continue; // not this run's
            expect(Number(e.payload.value)).toBeGreaterThan(0);
            expect(e.identifier.length).toBeLessThanOrEqual(100);
            const seen = handedOut.get(e.identifier);
            if (seen !== undefined) expect({ kind: value, event: e }).toEqual(seen);
            handedOut.set(e.identifier, { kind: value, event: e });
          }
        };

        let now = day + HOUR; // the exports' clock: moves forward; requests land in hours before it
        for (const s of steps) {
          if (s.kind === "request") {
            // `back` hours before the hour the exports' clock is in: 0 is still open, the others may have been exported.
            const hour = Math.max(0, Math.floor((now - day) / HOUR) - s.back);
            clock.set(day + hour * HOUR + s.minute * 60_000);
            const headers: Record<string, string> = s.who === 2 ? { "Tollgate-On-Behalf-Of": ids[0]! } : {};
            const res = await call(keys[s.who]!, `/p${s.surface}`, { method: "POST", body: JSON.stringify({ items: Array.from({ length: s.items }, (_, i) => i) }), headers });
            await res.arrayBuffer();
            expect(res.status).toBe(200);
          } else {
            now = Math.min(now + s.advance, day + (HOURS + 1) * HOUR);
            if (s.twice) await Promise.all([exportAt(now, s.value, s.again), exportAt(now, s.value, false)]);
            else await exportAt(now, s.value, s.again);
          }
        }
        // Every hour has ended: a last export of each kind hands out what is still missing.
        for (const value of ["units", "cost"] as const) await exportAt(day + DAY, value, false);

        const expected = new Map<string, number>();
        const rows = await adminOk<{ payer: string; surface: string; periodStart: string; units: number; cost: string }[]>("GET", `/usage?granularity=hour&from=${from}&to=${to}`);
        for (const r of rows) {
          if (!ids.includes(r.payer)) continue;
          const cost = parseMoney(r.cost);
          for (const [kind, v] of [["units", r.units], ["cost", cost]] as const) {
            const key = `cus_${r.payer}|tollgate_${r.surface}|${r.periodStart}|${kind}`;
            expected.set(key, (expected.get(key) ?? 0) + v);
          }
        }
        // Hours that cost nothing are not exported (a units meter included): drop them from the expectation.
        for (const [key, v] of expected) {
          if (key.endsWith("|cost") && v === 0) {
            expected.delete(key);
            expected.delete(key.replace(/\|cost$/, "|units"));
          }
        }
        const exported = new Map<string, number>();
        for (const { kind, event } of handedOut.values()) {
          const key = `${event.payload.stripe_customer_id}|${event.event_name}|${new Date((event.timestamp - 1800) * 1000).toISOString()}|${kind}`;
          exported.set(key, (exported.get(key) ?? 0) + Number(event.payload.value));
        }
        corrections += [...handedOut.keys()].filter((id) => /-r\d+$/.test(id)).length;
        expect(Object.fromEntries([...exported].sort())).toEqual(Object.fromEntries([...expected].sort()));
      }),
      { numRuns: RUNS, ...(SEED !== undefined && { seed: SEED }) },
    );
    // The mixes must reach the case the property is about: units arriving in exported hours.
    expect(corrections).toBeGreaterThan(0);
  });
});
