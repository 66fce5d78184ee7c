// `npm run simulate:leases`: leased admission (CONTRACT §6) simulated for one tenant with a rate
// limit and a blocking quota, across isolate counts, lease sizes and traffic shapes. It prints a
// table, writes it to sim/results/latest.json, and exits 1 if any run over-admits (or if the
// quota's books do not balance once every lease is settled), so it doubles as a check.
//
// The model, and what it assumes:
// - Deterministic: a discrete-event loop on a virtual clock in ms, seeded streams (random.mjs),
//   no timers and no wall clock. The same code gives the same table.
// - The limiter is one object that handles each call atomically at the instant it arrives
//   (a Durable Object runs one call at a time; its processing time is not modelled, so neither is
//   queueing at it). Its decisions are the real code from src/ (src-code.mjs): `decide`,
//   `chargeFor`, `leaseTermsOf`, `sizeLease`, and through them token-bucket.ts's `take` and
//   `refill`; the plan entry is validated by the catalog's own schema. Its bookkeeping is
//   LimiterModel, a mirror of TenantLimiter's admit/grantLease/applyLeaseReport/expireLeases.
// - Isolates mirror src/gateway/leases.ts (IsolateModel): a request spends a permit if the
//   isolate's lease has one; else it asks for a lease — the asking request is itself admitted the
//   strict way, and the lease comes in the same answer — while the isolate's other requests that
//   miss wait for that answer, then spend from the new lease or, if it is empty or was not
//   granted, each make their own strict call. A report travels with the next lease request if
//   none of the lease's requests is still being answered, else it leaves on its own when the
//   lease ends and its last request has finished (polled every 50 ms).
// - Network: each limiter call takes a one-way delay drawn uniformly in [5, 20] ms each way
//   (request and answer); the origin answers 20 ms + an exponential of mean 80 ms (capped 2 s)
//   after a leased request is served (that is what keeps a lease's report waiting).
// - Every request is 1 unit, known from the request (a request-counted meter): no concurrency,
//   no Idempotency-Key, no origin failure, so every admission is charged at once.
// - Deaths: an isolate that dies loses its holding and the requests waiting for its lease
//   ("dropped"); its lease is never reported, and the limiter counts it `unreported` 10 s
//   (REPORT_GRACE_MS) after its end, keeping its units used. A fresh isolate takes its traffic.
// - Over-admitted = rate tokens the limiter took beyond what any bucket of that capacity and
//   refill could give in any interval + units admitted beyond the quota + permits spent beyond a
//   lease or after its end. Checked from the policy's numbers alone, not from the limiter's state.
import { mkdirSync, writeFileSync } from "node:fs";
import { PlanSurface, REPORT_GRACE_MS, limiterCode } from "./src-code.mjs";
import { runConfiguration } from "./run-configuration.mjs";

const LATENCY = { oneWayMinMs: 5, oneWayMaxMs: 20, originMinMs: 20, originMeanMs: 80, originMaxMs: 2_000 };
const TENANT_PLAN = { rate: { limit: 5_000, window: 1, burst: 5_000 }, quota: { limit: 100_000, period: "month", overage: "block" } };
const BIG_TENANT_PLAN = { rate: { limit: 60_000, window: 1, burst: 60_000 }, quota: { limit: 1_000_000_000, period: "month", overage: "block" } };
const ISOLATES = [1, 4, 16, 64];
const PERMITS = [20, 100, 500];

const steady = { kind: "steady", perSecond: 4_000 };
const GROUPS = [
  { title: "steady: Poisson 4,000 req/s for 10 s, isolates uniform", shape: steady, durationMs: 10_000 },
  { title: "bursty: 0.5 s at 16,000 req/s, 1.5 s off (4,000 req/s mean), 10 s", shape: { kind: "bursty", perSecond: 4_000, onMs: 500, offMs: 1_500 }, durationMs: 10_000 },
  { title: "skewed: Poisson 4,000 req/s for 10 s, one isolate gets 80 %", shape: { kind: "skewed", perSecond: 4_000, hotShare: 0.8 }, durationMs: 10_000, isolates: [4, 16, 64] },
  { title: "quota cliff: Poisson 4,000 req/s for 50 s = 2 × the quota of 100,000", shape: steady, durationMs: 50_000 },
  { title: "isolate deaths: steady 4,000 req/s for 10 s, a quarter of the isolates (at least 1) die once, mid-lease", shape: steady, durationMs: 10_000, deaths: 0.25, strict: false },
  { title: "short leases: steady 4,000 req/s for 10 s, lease.seconds 0.5", shape: steady, durationMs: 10_000, isolates: [16, 64], seconds: 0.5, strict: false },
  { title: "one big tenant: Poisson 50,000 req/s for 4 s, rate 60,000/s burst 60,000, quota 10^9", shape: { kind: "steady", perSecond: 50_000 }, durationMs: 4_000, plan: BIG_TENANT_PLAN, isolates: [16, 64, 256], permits: [100, 500] },
];

/** The effective policy the limiter is handed, its plan entry validated by the catalog's own schema. */
function policyOf(plan, admission, lease) {
  const entry = PlanSurface.parse({ rule: "included", ...plan, admission, ...(lease && { lease }) });
  return { ...entry, surface: "events", plan: "sim", meter: { unit: "request", count: { from: "request" } }, incentives: {} };
}

function configurations() {
  const out = [];
  for (const [g, group] of GROUPS.entries()) {
    const plan = group.plan ?? TENANT_PLAN;
    const base = { group: g, shape: group.shape, durationMs: group.durationMs, deaths: group.deaths ?? 0, latency: LATENCY };
    if (group.strict !== false) {
      out.push({ ...base, name: `${g}:strict`, isolates: 16, leased: false, permits: null, seconds: null, policy: policyOf(plan, "strict") });
    }
    for (const isolates of group.isolates ?? ISOLATES) {
      for (const permits of group.permits ?? PERMITS) {
        const seconds = group.seconds ?? 2;
        out.push({ ...base, name: `${g}:${isolates}:${permits}:${seconds}`, isolates, leased: true, permits, seconds, policy: policyOf(plan, "leased", { permits, seconds }) });
      }
    }
  }
  return out;
}

const int = (n) => Math.round(n).toLocaleString("en-US");
const COLUMNS = [
  ["mode", (c) => (c.leased ? "leased" : "strict")],
  ["isolates", (c) => (c.leased ? String(c.isolates) : "-")],
  ["permits", (c) => (c.leased ? String(c.permits) : "-")],
  ["secs", (c) => (c.leased ? String(c.seconds) : "-")],
  ["offered", (_, r) => int(r.offered)],
  ["admitted", (_, r) => int(r.admitted)],
  ["refused", (_, r) => int(r.refused)],
  ["dropped", (_, r) => int(r.dropped)],
  ["OVER", (_, r) => int(r.overAdmitted)],
  ["strand max", (_, r) => int(r.stranded.max)],
  ["strand mean", (_, r) => int(r.stranded.mean)],
  ["returned", (_, r) => int(r.permitsReturned)],
  ["unreported", (_, r) => int(r.unreportedPermits)],
  ["lost units", (_, r) => int(r.lostUnits)],
  ["calls/req", (_, r) => r.calls.perRequest.toFixed(4)],
  ["peak calls/s", (_, r) => int(r.calls.peakPerSecond)],
  ["writes/req", (_, r) => r.storage.rowsPerRequest.toFixed(3)],
];

function table(runs) {
  const lines = [];
  const cells = runs.map(({ config, result }) => COLUMNS.map(([, cell]) => cell(config, result)));
  const widths = COLUMNS.map(([head], i) => Math.max(head.length, ...cells.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  let group = -1;
  for (const [k, { config }] of runs.entries()) {
    if (config.group !== group) {
      group = config.group;
      lines.push("", `== ${GROUPS[group].title} ==`, line(COLUMNS.map(([head]) => head)), widths.map((w) => "-".repeat(w)).join("  "));
    }
    lines.push(line(cells[k]));
  }
  return lines.join("\n");
}

const started = performance.now();
const runs = configurations().map((config) => ({ config, result: runConfiguration(config, limiterCode, REPORT_GRACE_MS) }));
console.log(`Leased admission, simulated (CONTRACT §6): one tenant, rate ${TENANT_PLAN.rate.limit}/s burst ${TENANT_PLAN.rate.burst}, quota ${int(TENANT_PLAN.quota.limit)} (block) unless the group says otherwise.`);
console.log(`Limiter calls take ${LATENCY.oneWayMinMs}–${LATENCY.oneWayMaxMs} ms each way; the origin answers in ${LATENCY.originMinMs} ms + exp(${LATENCY.originMeanMs} ms). Stranded = permits held by live leases (max; mean over the traffic).`);
console.log(table(runs));
console.log(`
strict: every request is one limiter call, for comparison. offered = admitted + refused + dropped (requests waiting for a lease when their isolate died).
OVER: admitted beyond the bucket or the quota (must be 0). returned: unused permits whose units went back to the quota on report.
unreported: permits of leases never reported (units kept used); lost units: of those, units no request used (under-admission).
calls/req: limiter calls (admit + reportLease) per offered request. writes/req: SQL statements writing a row, per offered request.`);

const results = runs.map(({ config, result }) => ({ group: GROUPS[config.group].title, mode: config.leased ? "leased" : "strict", isolates: config.isolates, permits: config.permits, seconds: config.seconds, deaths: config.deaths, ...result }));
const resultsDir = new URL("./results/", import.meta.url);
mkdirSync(resultsDir, { recursive: true });
writeFileSync(new URL("latest.json", resultsDir), `${JSON.stringify({ model: { latency: LATENCY, plans: { default: TENANT_PLAN, bigTenant: BIG_TENANT_PLAN }, reportGraceMs: REPORT_GRACE_MS }, runs: results }, null, 2)}\n`);

const failed = results.filter((r) => r.overAdmitted > 0 || !r.quota.booksBalance);
console.error(`\n${results.length} runs in ${((performance.now() - started) / 1000).toFixed(1)} s; results in sim/results/latest.json`);
if (failed.length > 0) {
  for (const r of failed) console.error(`FAILED ${r.name}: over-admitted ${r.overAdmitted} (${JSON.stringify(r.overAdmission)}), quota books ${r.quota.booksBalance ? "balance" : `do not balance (${JSON.stringify(r.quota)})`}`);
  process.exit(1);
}
console.error("no run over-admitted; every run's quota books balance");
