// Usage metering end to end (CONTRACT §5): exact, durable, read-your-writes, isolated, exportable.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import Papa from "papaparse";
import { beforeAll, describe, expect, it } from "vitest";
import { flushToD1 } from "../../src/metering/flush";
import { rollUp, type UsageEvent } from "../../src/metering/rollup";
import { formatMoney, parseMoney } from "../../src/pricing/money";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import type { RollupRow } from "../../src/metering/usage-rows";
import { ManualClock, sendAt, setLimiterClock } from "../support/clock";
import { admin, adminOk, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "/items" } } },
      feed: { routes: ["GET /v1/events"], meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } } },
      tight: { routes: ["GET /tight"] },
      closed: { routes: ["GET /closed"] },
    },
    plans: {
      p: {
        surfaces: {
          items: { rule: "metered", price: { unit: "0.333333" } },
          feed: { rule: "metered", price: { unit: "0.01" } },
          tight: { rule: "metered", price: { unit: "0.05" }, rate: { limit: 1, window: 3600 } },
          closed: { rule: "prohibited" },
        },
        incentives: { "idempotency-key": 0.9, batch: { minUnits: 4, multiplier: 0.5 }, conditional: 0.1 },
      },
      // A surcharge makes savings negative, which CSV must keep a plain number.
      surcharged: { surfaces: { items: { rule: "metered", price: { unit: "0.333333" } } }, incentives: { "idempotency-key": 1.25 } },
    },
  });
});

const limiter = (tenant: string) => (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(tenant);

async function usage(tenant: string, granularity = "day"): Promise<RollupRow[]> {
  return adminOk<RollupRow[]>("GET", `/usage?tenant=${tenant}&granularity=${granularity}`);
}

const totals = (rows: RollupRow[]) => ({
  requests: rows.reduce((n, r) => n + r.requests, 0),
  units: rows.reduce((n, r) => n + r.units, 0),
  cost: formatMoney(rows.reduce((n, r) => n + parseMoney(r.cost), 0)),
});

type Step = "items" | "items-batch" | "items-key" | "items-5xx" | "feed" | "feed-304" | "tight" | "closed" | "nowhere" | "replay";

async function perform(key: string, step: Step, i: number): Promise<Response> {
  const items = (n: number) => JSON.stringify({ items: Array.from({ length: n }, () => i) });
  switch (step) {
    case "items":
      return call(key, "/items", { method: "POST", body: items(1 + (i % 3)) });
    case "items-batch":
      return call(key, "/items", { method: "POST", body: items(5) });
    case "items-key":
      return call(key, "/items", { method: "POST", body: items(2), headers: { "Idempotency-Key": `k-${i}` } });
    case "replay":
      return call(key, "/items", { method: "POST", body: items(2), headers: { "Idempotency-Key": "replayed" } });
    case "items-5xx":
      return call(key, "/items?status=502", { method: "POST", body: items(2) });
    case "feed":
      return call(key, `/v1/events?limit=${1 + (i % 4)}`);
    case "feed-304":
      return call(key, "/v1/events?limit=2", { headers: { "If-None-Match": '"events-2"' } });
    case "tight":
      return call(key, "/tight");
    case "closed":
      return call(key, "/closed");
    case "nowhere":
      return call(key, "/nowhere");
  }
}

describe("rollups equal what clients were answered", () => {
  it("over a generated mix of charged, rejected, replayed, failed and discounted traffic", async () => {
    const steps = fc.sample(fc.array(fc.constantFrom<Step>("items", "items-batch", "items-key", "items-5xx", "feed", "feed-304", "tight", "closed", "nowhere", "replay"), { minLength: 40, maxLength: 40 }), { numRuns: 1, seed: 7 })[0]!;
    const { key } = await tenantWithKey({ id: "mix", plan: "p" });
    let units = 0;
    let cost = 0;
    let rejected = 0;
    for (const [i, step] of steps.entries()) {
      const res = await perform(key, step, i);
      await res.arrayBuffer();
      if (res.headers.get("Content-Type") === "application/problem+json") rejected++;
      units += Number(res.headers.get("Tollgate-Units") ?? 0);
      cost += parseMoney(res.headers.get("Tollgate-Cost") ?? "0");
    }
    for (const granularity of ["hour", "day", "month"]) {
      expect(totals(await usage("mix", granularity))).toEqual({ requests: steps.length, units, cost: formatMoney(cost) });
    }
    const day = await usage("mix");
    expect(rejected).toBeGreaterThan(0);
    expect(day.reduce((n, r) => n + r.rejected, 0)).toBe(rejected);
    expect(day.reduce((n, r) => n + r.charged, 0)).toBeGreaterThan(0);
    expect(new Set(steps).size).toBeGreaterThan(6); // the mix really is mixed
    expect(day.some((r) => parseMoney(r.savings) > 0)).toBe(true); // incentives were in it
  });
});

describe("read-your-writes and durability", () => {
  it("a usage read includes the request answered just before it, with no alarm run", async () => {
    const { key } = await tenantWithKey({ id: "ryw", plan: "p" });
    const res = await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [1, 2, 3] }) });
    await res.arrayBuffer();
    const answered = { units: Number(res.headers.get("Tollgate-Units")), cost: res.headers.get("Tollgate-Cost") };
    expect(answered).toEqual({ units: 3, cost: "0.999999" });
    // The event is still only in the limiter, so the read itself must bring it in.
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM usage_rollups WHERE tenant = 'ryw'").first("n")).toBe(0);
    const rows = await usage("ryw");
    expect(rows).toEqual([expect.objectContaining({ tenant: "ryw", surface: "items", requests: 1, charged: 1, ...answered, savings: "0" })]);
  });

  it("the alarm flushes, and flushing twice changes nothing", async () => {
    const { key } = await tenantWithKey({ id: "twice", plan: "p" });
    for (let i = 0; i < 3; i++) await (await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [i] }) })).arrayBuffer();
    expect(await runDurableObjectAlarm(limiter("twice"))).toBe(true);
    const first = await usage("twice");
    await limiter("twice").flush();
    await runDurableObjectAlarm(limiter("twice"));
    expect(await usage("twice")).toEqual(first);
    expect(totals(first)).toMatchObject({ requests: 3, units: 3 });
  });

  it("a crash between the D1 write and the trim counts nothing twice", async () => {
    const { key } = await tenantWithKey({ id: "crash", plan: "p" });
    for (let i = 0; i < 4; i++) await (await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [1, 2] }) })).arrayBuffer();
    // Write the pending events to D1 exactly as a flush would, then "crash": the limiter never trims.
    await runInDurableObject(limiter("crash"), async (_: TenantLimiter, state) => {
      const rows = state.storage.sql.exec<{ seq: number; at: number; surface: string; outcome: UsageEvent["outcome"]; units: number; cost: number; savings: number }>("SELECT * FROM usage_events ORDER BY seq").toArray();
      const events: UsageEvent[] = rows.map((r) => ({ ...r, earlyRetry: false, incentives: [] }));
      await flushToD1(env.DB, { tenant: "crash", fromSeq: 0, toSeq: events.at(-1)!.seq, deltas: rollUp(events, "crash") });
    });
    await evictDurableObject(limiter("crash"));
    await limiter("crash").flush();
    expect(totals(await usage("crash"))).toEqual({ requests: 4, units: 8, cost: formatMoney(8 * 333_333) });
    await runDurableObjectAlarm(limiter("crash"));
  });

  it("flushes racing each other, with events arriving between them, neither fail nor double count", async () => {
    const { key } = await tenantWithKey({ id: "racing", plan: "p" });
    const send = async () => (await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [1] }) })).arrayBuffer();
    await send();
    const flushes: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      flushes.push(limiter("racing").flush());
      await send();
    }
    flushes.push(limiter("racing").flush(), runDurableObjectAlarm(limiter("racing")));
    await Promise.all(flushes);
    expect(totals(await usage("racing"))).toMatchObject({ requests: 6, units: 6 });
  });

  it("unflushed usage survives eviction of the limiter", async () => {
    const { key } = await tenantWithKey({ id: "evicted", plan: "p" });
    await (await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [1] }) })).arrayBuffer();
    await evictDurableObject(limiter("evicted"));
    expect(totals(await usage("evicted"))).toMatchObject({ requests: 1, units: 1 });
  });

  it("counts retries that ignored Retry-After", async () => {
    const { key } = await tenantWithKey({ id: "eager", plan: "p" });
    for (let i = 0; i < 4; i++) await (await call(key, "/tight")).arrayBuffer();
    const row = (await usage("eager")).find((r) => r.surface === "tight")!;
    // 1 admitted, 3 refused; the first refusal had no Retry-After yet, the next two ignored it.
    expect(row).toMatchObject({ requests: 4, charged: 1, rejected: 3, earlyRetries: 2 });
  });
});

describe("period boundaries", () => {
  it("a request at 23:59:59.999 UTC on the last day of a month lands in that month", async () => {
    const { key } = await tenantWithKey({ id: "boundary", plan: "p" });
    const clock = new ManualClock(Date.parse("2026-01-31T23:59:59.999Z"));
    await runInDurableObject(limiter("boundary"), (instance: TenantLimiter) => {
      instance.clock = clock;
    });
    await (await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [1] }) })).arrayBuffer();
    clock.set(Date.parse("2026-02-01T00:00:00.000Z"));
    await (await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [1, 2] }) })).arrayBuffer();
    const month = await usage("boundary", "month");
    expect(month.map((r) => [r.periodStart, r.units])).toEqual([
      ["2026-01-01T00:00:00.000Z", 1],
      ["2026-02-01T00:00:00.000Z", 2],
    ]);
    const hour = await usage("boundary", "hour");
    expect(hour.map((r) => r.periodStart)).toEqual(["2026-01-31T23:00:00.000Z", "2026-02-01T00:00:00.000Z"]);
    const jan = await adminOk<RollupRow[]>("GET", "/usage?tenant=boundary&granularity=day&from=2026-01-01&to=2026-02-01");
    expect(jan.map((r) => r.periodStart)).toEqual(["2026-01-31T00:00:00.000Z"]);
  });
});

describe("the KV usage summary (currentPeriod)", () => {
  // The limiter's clock starts at the real now, so the alarms it sets lie ahead and fire only when
  // the test runs them (a clock in the past would have them fire on their own meanwhile).
  let start = Date.now();
  const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);
  if (monthOf(start) !== monthOf(start + 10 * 60_000)) start += 10 * 60_000; // not across a month's end
  const summaryOf = async (tenant: string) => env.CACHE.get<{ writtenAt: string; surfaces: RollupRow[] }>(`usage:${tenant}:${monthOf(start)}`, "json");
  const unitsIn = (s: { surfaces: RollupRow[] } | null) => (s ? s.surfaces.reduce((n, r) => n + r.units, 0) : null);

  it("is rewritten by the limiter's own flushes about once a minute, by every usage read, and after a restart", async () => {
    const { key } = await tenantWithKey({ id: "summary", plan: "p" });
    const clock = new ManualClock(start);
    await setLimiterClock("summary", clock);
    const item = async () => (await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [1] }) })).arrayBuffer();

    await item();
    expect(await runDurableObjectAlarm(limiter("summary"))).toBe(true);
    expect(unitsIn(await summaryOf("summary"))).toBe(1); // the first flush writes it

    await item();
    clock.advance(10_000);
    expect(await runDurableObjectAlarm(limiter("summary"))).toBe(true);
    expect(unitsIn(await summaryOf("summary"))).toBe(1); // flushed, but the summary is not due yet
    expect(totals(await usage("summary", "month")).units).toBe(2);
    expect(unitsIn(await summaryOf("summary"))).toBe(2); // a usage read flushes and rewrites it

    await item();
    clock.advance(5_000);
    expect(await runDurableObjectAlarm(limiter("summary"))).toBe(true);
    expect(unitsIn(await summaryOf("summary"))).toBe(2);
    // The limiter restarts before the summary is due: the new instance still knows it is behind.
    await evictDurableObject(limiter("summary"));
    await setLimiterClock("summary", clock);
    clock.advance(60_000);
    await runInDurableObject(limiter("summary"), (instance: TenantLimiter) => instance.alarm());
    expect(unitsIn(await summaryOf("summary"))).toBe(3);
  });
});

describe("isolation", () => {
  it("a tenant key reads only its own rows, whatever the query says", async () => {
    const a = await tenantWithKey({ id: "iso-a", plan: "p" });
    const b = await tenantWithKey({ id: "iso-b", plan: "p" });
    // The limiter and the app share a clock that stands at a month's end, so the month is known.
    const clock = new ManualClock(Date.parse("2026-03-31T23:59:30Z"));
    await setLimiterClock("iso-a", clock);
    const mine = await call(a.key, "/items", { method: "POST", body: JSON.stringify({ items: [1] }) });
    await mine.arrayBuffer();
    await (await call(b.key, "/items", { method: "POST", body: JSON.stringify({ items: [1, 2, 3, 4, 5, 6, 7] }) })).arrayBuffer();
    const own = await sendAt(clock, "/_tollgate/usage?granularity=month", { headers: { Authorization: `Bearer ${a.key}` } });
    const body = await own.json<{ tenant: string; items: RollupRow[]; limits: Record<string, unknown>; currentPeriod: { period: string; surfaces: RollupRow[] } | null }>();
    expect(body.tenant).toBe("iso-a");
    const row = { tenant: "iso-a", surface: "items", periodStart: "2026-03-01T00:00:00.000Z", requests: 1, units: Number(mine.headers.get("Tollgate-Units")), cost: mine.headers.get("Tollgate-Cost") };
    expect(body.items).toEqual([expect.objectContaining(row)]);
    expect(body.currentPeriod?.period).toBe("2026-03");
    expect(body.currentPeriod?.surfaces).toEqual(body.items);
    expect(Object.keys(body.limits).sort()).toEqual(["feed", "items", "tight"]);
    await expectProblem(await call(a.key, "/_tollgate/usage?tenant=iso-b"), 404, "not-found");
    const csv = await (await call(a.key, "/_tollgate/usage?format=csv&granularity=month")).text();
    expect(csv).not.toContain("iso-b");
  });

  it("a revoked key reads nothing", async () => {
    const t = await tenantWithKey({ id: "iso-revoked", plan: "p" });
    await adminOk("DELETE", `/tenants/iso-revoked/keys/${t.keyId}`, undefined, 204);
    await expectProblem(await call(t.key, "/_tollgate/usage"), 401, "key-revoked");
  });
});

describe("exports", () => {
  it("CSV escapes commas and quotes in tenant names and carries a Content-Disposition", async () => {
    await adminOk("POST", "/tenants", { id: "csv-co", name: 'Acme, "Widgets" Ltd', kind: "customer", plan: "p" }, 201);
    const { key } = await adminOk<{ key: string }>("POST", "/tenants/csv-co/keys", {}, 201).then((k) => ({ key: k.key }));
    await (await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [1, 2] }) })).arrayBuffer();
    const res = await admin("GET", "/usage?tenant=csv-co&granularity=month&format=csv");
    expect(res.headers.get("Content-Type")).toContain("text/csv");
    expect(res.headers.get("Content-Disposition")).toMatch(/^attachment; filename="tollgate-usage-month\.csv"$/);
    const text = await res.text();
    expect(text).toContain('"Acme, ""Widgets"" Ltd"');
    const parsed = Papa.parse<Record<string, string>>(text.trim(), { header: true });
    expect(parsed.errors).toEqual([]);
    expect(parsed.data).toEqual([expect.objectContaining({ tenant: "csv-co", tenantName: 'Acme, "Widgets" Ltd', surface: "items", units: "2", cost: "0.666666" })]);
  });

  it("CSV escapes tenant names a spreadsheet would run as formulas, and keeps negative savings a number (§10)", async () => {
    const names = ["=cmd", "+cmd", "-cmd", "@cmd", "\tcmd", "\rcmd"];
    for (const [i, name] of names.entries()) {
      await adminOk("POST", "/tenants", { id: `formula-${i}`, name, kind: "customer", plan: "surcharged" }, 201);
      const { key } = await adminOk<{ key: string }>("POST", `/tenants/formula-${i}/keys`, {}, 201);
      const res = await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [1, 2] }), headers: { "Idempotency-Key": `formula-${i}` } });
      await res.arrayBuffer();
      expect(res.headers.get("Tollgate-Incentives")).toBe("idempotency-key");
    }
    const json = (await adminOk<RollupRow[]>("GET", "/usage?granularity=month")).filter((r) => r.tenant.startsWith("formula-"));
    const text = await (await admin("GET", "/usage?granularity=month&format=csv")).text();
    const parsed = Papa.parse<Record<string, string>>(text.trim(), { header: true });
    expect(parsed.errors).toEqual([]);
    const csv = parsed.data.filter((r) => r.tenant!.startsWith("formula-"));
    expect(csv.map((r) => r.tenantName)).toEqual(names.map((n) => `'${n}`));
    expect(csv.map((r) => r.savings)).toEqual(json.map((r) => r.savings));
    expect(json.map((r) => r.savings)).toEqual(names.map(() => expect.stringMatching(/^-\d+\.\d+$/)));
    // Unquoted and unprefixed in the raw text, so a spreadsheet reads it as a number.
    expect(text).toContain(`,${json[0]!.savings},`);
  });
});

describe("bad usage queries change nothing and say why", () => {
  it("rejects bad dates, granularities and ranges", async () => {
    await expectProblem(await admin("GET", "/usage?granularity=week"), 400, "invalid-request");
    await expectProblem(await admin("GET", "/usage?from=yesterday"), 400, "invalid-request");
    await expectProblem(await admin("GET", "/usage?from=2026-02-01&to=2026-01-01"), 400, "invalid-request");
    await expectProblem(await admin("GET", "/usage?format=xml"), 400, "invalid-request");
  });
});
