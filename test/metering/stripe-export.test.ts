// Stripe meter events per closed hour (CONTRACT §10): each payer × surface × closed hour once,
// remembered in the export ledger; `again` re-sends the same events; open hours wait; hours older
// than Stripe's 35 days are reported, not sent. Time is driven: the limiters' clocks place the
// calls in hours, the app's clock says when the export runs. Each test uses its own days, since
// the export covers every tenant.
import { env } from "cloudflare:workers";
import { parseList } from "structured-headers";
import { beforeAll, describe, expect, it } from "vitest";
import { ManualClock, sendAt, setLimiterClock } from "../support/clock";
import { adminOk, call, expectProblem, loadCatalog } from "../support/http";

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "/items" } } },
      // Counted from the request, so each call's charge lands in the hour the limiter's clock shows.
      "things.write": { routes: ["POST /things"], meter: { unit: "thing", count: { from: "json-array", pointer: "/items" } } },
      free: { routes: ["GET /free"] },
    },
    plans: {
      p: {
        surfaces: {
          items: { rule: "metered", price: { unit: "0.333333" } },
          "things.write": { rule: "metered", price: { unit: "0.01" } },
          free: { rule: "included" },
        },
      },
      // What a partner pays when it pays for its calls on behalf of customers (CONTRACT §7).
      partner: { surfaces: { items: { rule: "metered", price: { unit: "0.5" } } } },
    },
  });
});

interface MeterEvent {
  event_name: string;
  payload: { stripe_customer_id: string; value: string };
  identifier: string;
  timestamp: number;
}

const at = (iso: string) => Date.parse(iso);

async function tenant(id: string, options: { customer?: string; plan?: string; kind?: "customer" | "partner"; clock: ManualClock }): Promise<string> {
  const billing = options.customer === undefined ? {} : { billing: { stripeCustomerId: options.customer } };
  await adminOk("POST", "/tenants", { id, kind: options.kind ?? "customer", plan: options.plan ?? "p", ...billing }, 201);
  await setLimiterClock(id, options.clock);
  return (await adminOk<{ key: string }>("POST", `/tenants/${id}/keys`, {}, 201)).key;
}

async function items(key: string, n: number, headers: Record<string, string> = {}, path = "/items"): Promise<void> {
  const res = await call(key, path, { method: "POST", body: JSON.stringify({ items: Array.from({ length: n }, (_, i) => i) }), headers });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
}

/** The export at `now` (the app's clock); answers its events and headers. */
async function exportAt(now: string, query: string) {
  const res = await sendAt(new ManualClock(at(now)), `/_tollgate/admin/usage/export?format=stripe&${query}`, { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } });
  const text = new TextDecoder().decode(await res.arrayBuffer()); // NDJSON is text; .text() warns on its type
  expect(res.status, text).toBe(200);
  expect(res.headers.get("Content-Type")).toBe("application/x-ndjson");
  const list = (name: string) => parseList(res.headers.get(name) ?? "").map(([value]) => value);
  return {
    events: text === "" ? [] : text.trimEnd().split("\n").map((line) => JSON.parse(line) as MeterEvent),
    hours: list("Tollgate-Export-Hours"),
    rawHours: res.headers.get("Tollgate-Export-Hours"),
    tooOld: list("Tollgate-Export-Too-Old"),
    skipped: res.headers.get("Tollgate-Skipped-Tenants"),
    negative: parseList(res.headers.get("Tollgate-Export-Negative") ?? "").map(([hour, params]) => ({ hour, ...Object.fromEntries(params) })),
  };
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("Stripe export of closed hours", () => {
  it("sends each closed hour once, never the open one; again re-sends the same events", async () => {
    const clock = new ManualClock(at("2026-03-02T10:20:00Z"));
    const key = await tenant("once", { customer: "cus_once", clock });
    await items(key, 3); // 10:00 hour
    await items(key, 4, {}, "/things"); // things.write, 4 things
    clock.set(at("2026-03-02T11:05:00Z"));
    await items(key, 2); // 11:00 hour, still open at 11:30

    const range = "from=2026-03-02&to=2026-03-03";
    const first = await exportAt("2026-03-02T11:30:00Z", range);
    const ten = "2026-03-02T10:00:00.000Z";
    const tenAt = at(ten) / 1000 + 1800; // the middle of the hour
    expect(first.events).toEqual([
      { event_name: "tollgate_items", payload: { stripe_customer_id: "cus_once", value: "3" }, identifier: `tg_${await sha256Hex(`once|items|${ten}|units`)}`, timestamp: tenAt },
      { event_name: "tollgate_things_write", payload: { stripe_customer_id: "cus_once", value: "4" }, identifier: `tg_${await sha256Hex(`once|things.write|${ten}|units`)}`, timestamp: tenAt },
    ]);
    expect(first.rawHours).toBe(`"${ten}"`);
    expect(first.events.every((e) => e.identifier.length <= 100)).toBe(true);

    // The same export again sends nothing: the hour is in the ledger; the open hour still waits.
    const second = await exportAt("2026-03-02T11:59:59Z", range);
    expect(second.events).toEqual([]);
    expect(second.rawHours).toBe("");

    // Once 11:00 has ended it is sent, and 10:00 is not sent again.
    clock.set(at("2026-03-02T12:10:00Z"));
    await items(key, 5); // 12:00 hour: open at 12:30
    const third = await exportAt("2026-03-02T12:30:00Z", range);
    const eleven = "2026-03-02T11:00:00.000Z";
    expect(third.events).toEqual([{ event_name: "tollgate_items", payload: { stripe_customer_id: "cus_once", value: "2" }, identifier: `tg_${await sha256Hex(`once|items|${eleven}|units`)}`, timestamp: at(eleven) / 1000 + 1800 }]);
    expect(third.hours).toEqual([eleven]);

    // again=true: every exported hour of the range once more, byte for byte, and still not 12:00.
    const again = await exportAt("2026-03-02T12:30:00Z", `${range}&again=true`);
    expect(again.events).toEqual([...first.events, ...third.events]);
    expect(again.hours).toEqual([ten, eleven]);
    // A re-send does not lose the ledger: the next plain export is empty again.
    expect((await exportAt("2026-03-02T12:40:00Z", range)).events).toEqual([]);
  });

  it("gives a units meter and a cost meter different identifiers and ledgers them apart", async () => {
    const clock = new ManualClock(at("2026-03-04T08:15:00Z"));
    const key = await tenant("kinds", { customer: "cus_kinds", clock });
    await items(key, 3); // 3 × 0.333333 = 0.999999
    await (await call(key, "/free")).arrayBuffer(); // costs nothing: no event
    const range = "from=2026-03-04&to=2026-03-05";
    // Two exports at once: the ledger lets only one of them send the hour.
    const both = await Promise.all([exportAt("2026-03-04T10:00:00Z", `${range}&value=units`), exportAt("2026-03-04T10:00:00Z", `${range}&value=units`)]);
    expect(both.map((b) => b.events.length).sort()).toEqual([0, 1]);
    const units = both.find((b) => b.events.length === 1)!;
    const cost = await exportAt("2026-03-04T10:00:00Z", `${range}&value=cost`);
    expect(units.events.map((e) => [e.event_name, e.payload.value])).toEqual([["tollgate_items", "3"]]);
    expect(cost.events.map((e) => [e.event_name, e.payload.value])).toEqual([["tollgate_items", "999999"]]);
    expect(cost.events[0]!.identifier).toBe(`tg_${await sha256Hex("kinds|items|2026-03-04T08:00:00.000Z|cost")}`);
    expect(cost.events[0]!.identifier).not.toBe(units.events[0]!.identifier);
    expect(cost.hours).toEqual(["2026-03-04T08:00:00.000Z"]);
    expect((await exportAt("2026-03-04T10:00:00Z", `${range}&value=cost`)).events).toEqual([]);
  });

  it("bills a partner that pays for its calls under the partner's customer id, and names tenants without one", async () => {
    const clock = new ManualClock(at("2026-03-06T09:30:00Z"));
    const customerKey = await tenant("pay-cust", { customer: "cus_customer", clock });
    const partnerKey = await tenant("pay-app", { customer: "cus_partner", plan: "partner", kind: "partner", clock });
    const anonKey = await tenant("pay-anon", { clock });
    await adminOk("POST", "/grants", { partner: "pay-app", customer: "pay-cust", surfaces: ["items"], payer: "partner" }, 201);
    await items(customerKey, 2); // the customer's own calls: 2 × 0.333333
    await items(partnerKey, 4, { "Tollgate-On-Behalf-Of": "pay-cust" }); // the partner pays: 4 × 0.5
    await items(anonKey, 1);

    const out = await exportAt("2026-03-06T11:00:00Z", "from=2026-03-06&to=2026-03-07&value=cost");
    expect(out.events.map((e) => [e.payload.stripe_customer_id, e.payload.value])).toEqual([
      ["cus_partner", "2000000"],
      ["cus_customer", "666666"],
    ]);
    expect(out.events[0]!.identifier).toBe(`tg_${await sha256Hex("pay-app|items|2026-03-06T09:00:00.000Z|cost")}`);
    expect(out.skipped).toBe("pay-anon");

    // Given a customer id later, the skipped tenant's hour is exported then: it was never ledgered.
    await adminOk("PATCH", "/tenants/pay-anon", { billing: { stripeCustomerId: "cus_anon" } });
    const later = await exportAt("2026-03-06T12:00:00Z", "from=2026-03-06&to=2026-03-07&value=cost");
    expect(later.events.map((e) => [e.payload.stripe_customer_id, e.payload.value])).toEqual([["cus_anon", "333333"]]);
    expect(later.skipped).toBeNull();
  });

  it("reports hours older than Stripe's 35 days instead of sending them", async () => {
    const clock = new ManualClock(at("2026-03-08T07:10:00Z"));
    const key = await tenant("old", { customer: "cus_old", clock });
    await items(key, 1); // 2026-03-08T07:00: 36 days before the export
    clock.set(at("2026-03-10T07:10:00Z"));
    await items(key, 2); // 34 days before it
    const now = "2026-04-13T09:00:00Z";
    const range = "from=2026-03-08&to=2026-03-11";
    const out = await exportAt(now, range);
    expect(out.events.map((e) => e.payload.value)).toEqual(["2"]);
    expect(out.hours).toEqual(["2026-03-10T07:00:00.000Z"]);
    expect(out.tooOld).toEqual(["2026-03-08T07:00:00.000Z"]);
    // Not ledgered either: still reported on the next export, still not sent.
    const next = await exportAt(now, range);
    expect([next.events, next.tooOld]).toEqual([[], ["2026-03-08T07:00:00.000Z"]]);
    // The default range starts at the oldest hour Stripe accepts: the old hour is not in it.
    const byDefault = await exportAt(now, "again=true");
    expect(byDefault.tooOld).toEqual([]);
    expect(byDefault.hours).toEqual(["2026-03-10T07:00:00.000Z"]);
  });

  it("refuses a range that ends before it starts and formats other than stripe", async () => {
    const headers = { Authorization: `Bearer ${env.ADMIN_TOKEN}` };
    const clock = new ManualClock(at("2026-03-12T00:00:00Z"));
    await expectProblem(await sendAt(clock, "/_tollgate/admin/usage/export?format=stripe&from=2026-03-02&to=2026-03-01", { headers }), 400, "invalid-request");
    await expectProblem(await sendAt(clock, "/_tollgate/admin/usage/export?format=csv", { headers }), 400, "invalid-request");
    await expectProblem(await sendAt(clock, "/_tollgate/admin/usage/export?format=stripe&value=euros", { headers }), 400, "invalid-request");
    await expectProblem(await sendAt(clock, "/_tollgate/admin/usage/export?format=stripe&period=2026-03", { headers: {} }), 401, "unauthenticated");
  });
});

describe("corrections of exported hours that received late units (CONTRACT §11)", () => {
  it("sends the difference under the original identifier + -r<revision>, lists the hour, and re-sends every revision under again", async () => {
    const clock = new ManualClock(at("2026-03-16T10:10:00Z"));
    const key = await tenant("late", { customer: "cus_late", clock });
    await items(key, 3); // 10:00
    const range = "from=2026-03-16&to=2026-03-17";
    const ten = "2026-03-16T10:00:00.000Z";
    const tenAt = at(ten) / 1000 + 1800;
    const original = `tg_${await sha256Hex(`late|items|${ten}|units`)}`;
    const first = await exportAt("2026-03-16T11:30:00Z", range);
    expect(first.events.map((e) => [e.identifier, e.payload.value])).toEqual([[original, "3"]]);

    // Units counted in 10:00 after it was exported (the limiter's clock is still in that hour).
    await items(key, 2);
    clock.set(at("2026-03-16T11:20:00Z"));
    await items(key, 4); // 11:00: a fresh hour beside the correction
    const second = await exportAt("2026-03-16T12:30:00Z", range);
    const eleven = "2026-03-16T11:00:00.000Z";
    expect(second.events).toEqual([
      { event_name: "tollgate_items", payload: { stripe_customer_id: "cus_late", value: "2" }, identifier: `${original}-r1`, timestamp: tenAt },
      { event_name: "tollgate_items", payload: { stripe_customer_id: "cus_late", value: "4" }, identifier: `tg_${await sha256Hex(`late|items|${eleven}|units`)}`, timestamp: at(eleven) / 1000 + 1800 },
    ]);
    expect(second.hours).toEqual([ten, eleven]);
    expect((await exportAt("2026-03-16T12:40:00Z", range)).events).toEqual([]); // recorded: not sent twice

    // More late units: revision 2 carries only what revision 0 and 1 did not.
    clock.set(at("2026-03-16T10:50:00Z"));
    await items(key, 1);
    const third = await exportAt("2026-03-16T12:50:00Z", range);
    expect(third.events.map((e) => [e.identifier, e.payload.value, e.timestamp])).toEqual([[`${original}-r2`, "1", tenAt]]);
    expect(third.hours).toEqual([ten]);

    // Stripe's sum for the hour is its rollup; again re-sends each revision as it was.
    const again = await exportAt("2026-03-16T13:00:00Z", `${range}&again=true`);
    expect(again.events.map((e) => [e.identifier, e.payload.value])).toEqual([
      [original, "3"],
      [`${original}-r1`, "2"],
      [`${original}-r2`, "1"],
      [`tg_${await sha256Hex(`late|items|${eleven}|units`)}`, "4"],
    ]);
    const rows = await adminOk<{ units: number; periodStart: string }[]>("GET", "/usage?granularity=hour&tenant=late&from=2026-03-16&to=2026-03-17");
    expect(rows.filter((r) => r.periodStart === ten).reduce((n, r) => n + r.units, 0)).toBe(6);
  });

  it("records a revision once when two exports plan it at once, and keeps the cost meter's corrections apart", async () => {
    const clock = new ManualClock(at("2026-03-18T08:15:00Z"));
    const key = await tenant("late-race", { customer: "cus_race", clock });
    await items(key, 3);
    const range = "from=2026-03-18&to=2026-03-19";
    await exportAt("2026-03-18T10:00:00Z", `${range}&value=units`);
    await exportAt("2026-03-18T10:00:00Z", `${range}&value=cost`);
    await items(key, 1);
    const both = await Promise.all([exportAt("2026-03-18T10:10:00Z", `${range}&value=units`), exportAt("2026-03-18T10:10:00Z", `${range}&value=units`)]);
    expect(both.flatMap((b) => b.events.map((e) => [e.identifier.slice(-3), e.payload.value]))).toEqual([["-r1", "1"]]);
    const cost = await exportAt("2026-03-18T10:10:00Z", `${range}&value=cost`);
    expect(cost.events.map((e) => [e.identifier.slice(-3), e.payload.value])).toEqual([["-r1", "333333"]]);
    expect(cost.events[0]!.identifier).toBe(`tg_${await sha256Hex("late-race|items|2026-03-18T08:00:00.000Z|cost")}-r1`);
    const { n } = (await env.DB.prepare("SELECT COUNT(*) AS n FROM export_corrections WHERE payer = 'late-race'").first<{ n: number }>())!;
    expect(n).toBe(2);
  });

  it("reports an exported hour now worth less than what was sent in Tollgate-Export-Negative, and sends nothing for it", async () => {
    const clock = new ManualClock(at("2026-03-20T08:15:00Z"));
    const key = await tenant("late-neg", { customer: "cus_neg", clock });
    await items(key, 3);
    const range = "from=2026-03-20&to=2026-03-21";
    await exportAt("2026-03-20T10:00:00Z", range);
    // As if units had been refunded after the export: the ledger holds more than the hour now has.
    await env.DB.prepare("UPDATE export_ledger SET value = 5 WHERE payer = 'late-neg'").run();
    const out = await exportAt("2026-03-20T10:10:00Z", range);
    expect(out.events).toEqual([]);
    expect(out.negative).toEqual([{ hour: "2026-03-20T08:00:00.000Z", payer: "late-neg", surface: "items", difference: -2 }]);
    expect(out.rawHours).toBe("");
  });

  it("reports a correction of an hour older than Stripe's 35 days in Tollgate-Export-Too-Old", async () => {
    const clock = new ManualClock(at("2026-03-22T07:10:00Z"));
    const key = await tenant("late-old", { customer: "cus_lold", clock });
    await items(key, 1);
    const range = "from=2026-03-22&to=2026-03-23";
    expect((await exportAt("2026-03-22T09:00:00Z", range)).events).toHaveLength(1);
    await items(key, 2); // late units in 07:00
    const out = await exportAt("2026-04-27T09:00:00Z", range); // 36 days later
    expect([out.events, out.tooOld]).toEqual([[], ["2026-03-22T07:00:00.000Z"]]);
  });
});

describe("who may run the Stripe export", () => {
  it("needs the write scope, since it records what it sends in the ledger; a read-only token is refused and changes nothing", async () => {
    const { createAdminToken } = await import("../support/admin-tokens");
    const { admin } = await import("../support/http");
    const reader = await createAdminToken("export-reader", ["read"]);
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM export_ledger").first<{ n: number }>();
    await expectProblem(await admin("GET", "/usage/export?format=stripe&value=units", undefined, reader.token), 403, "forbidden");
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM export_ledger").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });
});
