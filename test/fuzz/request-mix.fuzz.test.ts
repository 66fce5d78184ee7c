// A seeded random mix of requests — happy, refused, replayed, and faulty (origins that drop, lie
// or answer invalid statuses; uploads past the limit) — sent a few at a time through the real
// gateway in workerd. Whatever the mix, the invariants of issue 8 hold: never a 500 of
// Tollgate's own, the rollups equal what the clients were answered (Tollgate-Units/Cost, or the
// bytes streamed where no header could say it), and no concurrency slot or idempotency key is
// left taken once everything has finished. `npm test` runs a short seeded mix; `npm run fuzz`
// runs many more (FUZZ_RUNS, FUZZ_SEED).
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { Catalog, type CatalogInput } from "../../src/catalog/schema";
import { effectivePolicy, surfaceTerms } from "../../src/limiter/policy";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import type { RollupRow } from "../../src/metering/usage-rows";
import { chargeFor } from "../../src/pricing/charge";
import { formatMoney, parseMoney } from "../../src/pricing/money";
import type { LimiterStats } from "../../src/limiter/protocol";
import { sendWith } from "../support/faults";
import { adminOk, call, loadCatalog, tenantWithKey } from "../support/http";

const catalog = {
  currency: "USD",
  surfaces: {
    items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "/items" } } },
    feed: { routes: ["GET /v1/events", "GET /v1/events/:id"], meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } } },
    bytes: { routes: ["GET /bytes/*"], meter: { unit: "byte", count: { from: "response-bytes" } } },
    single: { routes: ["GET /single/*"] },
    upload: { routes: ["PUT /upload/*"] },
    closed: { routes: ["GET /closed"] },
  },
  plans: {
    p: {
      surfaces: {
        items: { rule: "metered", price: { unit: "0.001", overage: "0.002" }, quota: { limit: 40, period: "month", overage: "bill" } },
        feed: { rule: "metered", price: { unit: "0.0003" }, quota: { limit: 60, period: "month" } },
        bytes: { rule: "metered", price: { unit: "0.000001" }, concurrency: 2 },
        single: { rule: "metered", price: { unit: "0.05" }, concurrency: 1, rate: { limit: 50, window: 1 } },
        upload: { rule: "metered", price: { unit: "0.07" } },
        closed: { rule: "prohibited" },
      },
      incentives: { "idempotency-key": 0.9, batch: { minUnits: 5, multiplier: 0.5 }, conditional: 0.25 },
    },
  },
} satisfies CatalogInput;

// Set by `npm run fuzz` through vitest.config.ts; a plain `npm test` runs a few seeded mixes.
const knobs = env as unknown as { FUZZ_RUNS?: string; FUZZ_SEED?: string };
const RUNS = Number(knobs.FUZZ_RUNS || 3);
const SEED = Number(knobs.FUZZ_SEED || 20261126);
const STEPS = 40;
const PARALLEL = 4;

const bytesPolicy = effectivePolicy({ plan: "p", addons: [], overrides: {} }, "bytes", surfaceTerms(Catalog.parse(catalog), "bytes"));

type Step =
  | { kind: "items"; n: number; key?: number; drop?: boolean; status?: number }
  | { kind: "feed"; events: number; etag: boolean; status?: number }
  | { kind: "bytes"; n: number; chunked: boolean; fault?: "drop" | "lie" | "600" }
  | { kind: "single"; fault?: "drop" | "503" | "999" }
  | { kind: "upload"; size: number }
  | { kind: "closed" }
  | { kind: "nowhere" };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("items" as const), n: fc.integer({ min: 0, max: 8 }), key: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), drop: fc.option(fc.constant(true), { nil: undefined, freq: 4 }), status: fc.option(fc.constantFrom(503, 600), { nil: undefined, freq: 4 }) }, { requiredKeys: ["kind", "n"] }),
  fc.record({ kind: fc.constant("feed" as const), events: fc.integer({ min: 0, max: 9 }), etag: fc.boolean(), status: fc.option(fc.constant(503), { nil: undefined, freq: 5 }) }, { requiredKeys: ["kind", "events", "etag"] }),
  fc.record({ kind: fc.constant("bytes" as const), n: fc.integer({ min: 0, max: 30_000 }), chunked: fc.boolean(), fault: fc.option(fc.constantFrom("drop" as const, "lie" as const, "600" as const), { nil: undefined, freq: 3 }) }, { requiredKeys: ["kind", "n", "chunked"] }),
  fc.record({ kind: fc.constant("single" as const), fault: fc.option(fc.constantFrom("drop" as const, "503" as const, "999" as const), { nil: undefined, freq: 3 }) }, { requiredKeys: ["kind"] }),
  fc.record({ kind: fc.constant("upload" as const), size: fc.constantFrom(100, 5_000, 70_000, 200_000) }),
  fc.constant({ kind: "closed" as const }),
  fc.constant({ kind: "nowhere" as const }),
);

/** How a request reaches the gateway: through the Worker's entry, or through the app on this test's context. */
type Via = (key: string, path: string, init?: RequestInit) => Promise<Response>;
const throughEntry: Via = (key, path, init) => call(key, path, init);
/**
 * Admissions that travel together (ADMIT_BATCHING, issue 15) need the requests on one context in
 * this pool (see vitest.config.ts): the same mix through the app, batching on.
 */
const batched: Via = (key, path, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${key}`);
  return sendWith({ ADMIT_BATCHING: "on" }, path, { ...init, headers });
};

function send(key: string, s: Step, i: number, via: Via): Promise<Response> {
  switch (s.kind) {
    case "items": {
      const q = s.drop ? "?drop=10" : s.status ? `?status=${s.status}` : "";
      const headers: Record<string, string> = s.key !== undefined ? { "Idempotency-Key": `k-${s.key}` } : {};
      return via(key, `/items${q}`, { method: "POST", body: JSON.stringify({ items: Array.from({ length: s.n }, () => i) }), headers });
    }
    case "feed":
      return via(key, `/v1/events?limit=${s.events}${s.status ? `&status=${s.status}` : ""}`, { headers: s.etag ? { "If-None-Match": `"events-${s.events}"` } : {} });
    case "bytes": {
      const q = s.fault === "drop" ? "drop=100" : s.fault === "lie" ? "lie=5000" : s.fault === "600" ? `bytes=${s.n}&status=600` : `bytes=${s.n}${s.chunked ? "&chunked=1" : ""}`;
      return via(key, `/bytes/${i}?${q}`);
    }
    case "single": {
      const q = s.fault === "drop" ? "?drop=10" : s.fault === "503" ? "?status=503" : s.fault === "999" ? "?status=999" : "";
      return via(key, `/single/${i}${q}`);
    }
    case "upload": {
      let left = s.size;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (left <= 0) return controller.close();
          const n = Math.min(left, 16_384);
          left -= n;
          controller.enqueue(new Uint8Array(n));
        },
      });
      return via(key, `/upload/${i}`, { method: "PUT", body });
    }
    case "closed":
      return via(key, "/closed");
    case "nowhere":
      return via(key, `/nowhere/${i}`);
  }
}

interface Answered {
  status: number;
  units: number;
  cost: number;
}

/** What the client was answered: the headers' charge, or for an unannounced byte count, what the bytes cost. */
async function answered(res: Response): Promise<Answered> {
  const problem = res.headers.get("content-type") === "application/problem+json";
  const reader = res.body?.getReader();
  let bytes = 0;
  let broken = false;
  if (reader) {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
      }
    } catch {
      broken = true;
    }
  }
  const units = res.headers.get("Tollgate-Units");
  const cost = res.headers.get("Tollgate-Cost");
  if (broken) return { status: res.status, units: 0, cost: 0 }; // broken off by the origin: not charged
  if (units === null && !problem && res.headers.get("Tollgate-Surface") === "bytes") {
    const charge = chargeFor(bytesPolicy, bytes, 0, { idempotencyKey: false, notModified: false });
    return { status: res.status, units: bytes, cost: charge.cost };
  }
  return { status: res.status, units: Number(units ?? 0), cost: parseMoney(cost ?? "0") };
}

beforeAll(async () => {
  await loadCatalog(catalog);
});

const limiter = (tenant: string) => (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(tenant);

/** Sends the mix a few at a time as `tenant`, then checks the invariants. */
async function runMix(tenant: string, steps: Step[], via: Via): Promise<void> {
  const { key } = await tenantWithKey({ id: tenant, plan: "p" });
  const results: Answered[] = [];
  const internal: number[] = [];
  for (let i = 0; i < steps.length; i += PARALLEL) {
    const batch = steps.slice(i, i + PARALLEL);
    const responses = await Promise.all(batch.map((s, j) => send(key, s, i + j, via)));
    for (const res of responses) {
      const problem = res.headers.get("content-type") === "application/problem+json" ? await res.clone().json<{ type: string }>() : null;
      if (res.status === 500 || problem?.type === "urn:tollgate:problem:internal-error") internal.push(res.status);
      results.push(await answered(res));
    }
  }
  expect(internal).toEqual([]);

  // Nothing stays taken once every answer has finished (streams settle in waitUntil).
  type Limits = Record<string, { inFlight: number }>;
  await expect.poll(async () => Object.values(await adminOk<Limits>("GET", `/tenants/${tenant}/limits`)).reduce((n, l) => n + l.inFlight, 0)).toBe(0);
  const inFlightKeys = await runInDurableObject(limiter(tenant), (_: TenantLimiter, state) =>
    state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM idempotency WHERE state = 'in-flight'").one().n,
  );
  expect(inFlightKeys).toBe(0);

  const expected = { units: results.reduce((n, r) => n + r.units, 0), cost: formatMoney(results.reduce((n, r) => n + r.cost, 0)) };
  await expect
    .poll(async () => {
      const rows = await adminOk<RollupRow[]>("GET", `/usage?tenant=${tenant}&granularity=month`);
      return { units: rows.reduce((n, r) => n + r.units, 0), cost: formatMoney(rows.reduce((n, r) => n + parseMoney(r.cost), 0)), requests: rows.reduce((n, r) => n + r.requests, 0) };
    })
    .toEqual({ ...expected, requests: steps.length });
  await runDurableObjectAlarm(limiter(tenant));
}

describe("a seeded random request mix, faults included", () => {
  const mixes = fc.sample(fc.array(step, { minLength: STEPS, maxLength: STEPS }), { numRuns: RUNS, seed: SEED });
  for (const [run, steps] of mixes.entries()) {
    it(`run ${run} (seed ${SEED}): no 500, rollups equal the answers, nothing left taken`, () => runMix(`fuzz-${run}`, steps, throughEntry));
  }
  it(`run 0 (seed ${SEED}) with admissions travelling together: the same invariants`, async () => {
    await runMix("fuzz-batched-0", mixes[0]!, batched);
    // The mix went through the batched path: requests waited for one another's admission calls.
    expect((await adminOk<LimiterStats>("GET", "/tenants/fuzz-batched-0/limiter")).batchedAdmissions).toBeGreaterThan(0);
  });
});
