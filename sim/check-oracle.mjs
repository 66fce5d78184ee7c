// Does the simulation's over-admission check catch over-admission? It runs two configurations with
// the real limiter code and with two broken copies of sizeLease — one that grants permits the
// bucket does not have, one that ignores the blocking quota — and exits 1 unless the real code
// shows 0 and each broken copy is caught. Run: node sim/check-oracle.mjs (Node 24).
import { PlanSurface, REPORT_GRACE_MS, limiterCode } from "./src-code.mjs";
import { runConfiguration } from "./run-configuration.mjs";

const plan = { rate: { limit: 5_000, window: 1, burst: 5_000 }, quota: { limit: 100_000, period: "month", overage: "block" } };
const entry = PlanSurface.parse({ rule: "included", ...plan, admission: "leased", lease: { permits: 100, seconds: 2 } });
const policy = { ...entry, surface: "events", plan: "sim", meter: { unit: "request", count: { from: "request" } }, incentives: {} };
const latency = { oneWayMinMs: 5, oneWayMaxMs: 20, originMinMs: 20, originMeanMs: 80, originMaxMs: 2_000 };
const runs = [
  { name: "bursty", shape: { kind: "bursty", perSecond: 4_000, onMs: 500, offMs: 1_500 }, durationMs: 10_000 },
  { name: "quota cliff", shape: { kind: "steady", perSecond: 4_000 }, durationMs: 50_000 },
].map((r) => ({ ...r, isolates: 16, leased: true, deaths: 0, latency, policy }));

const { sizeLease } = limiterCode;
const variants = {
  real: { code: limiterCode, caught: false },
  "sizeLease ignoring the bucket": {
    code: { ...limiterCode, sizeLease: (p, bucket, counter, unitsPerPermit, want, now) => {
      const size = sizeLease({ ...p, rate: undefined }, bucket, counter, unitsPerPermit, want, now);
      return { ...size, bucket: sizeLease(p, bucket, null, unitsPerPermit, size.permits, now).bucket };
    } },
    caught: true,
  },
  "sizeLease ignoring the quota": {
    code: { ...limiterCode, sizeLease: (p, bucket, counter, unitsPerPermit, want, now) => {
      const size = sizeLease(p, bucket, null, unitsPerPermit, want, now);
      return { ...size, units: size.permits * unitsPerPermit };
    } },
    caught: true,
  },
};

let ok = true;
for (const [name, { code, caught }] of Object.entries(variants)) {
  const over = runs.map((config) => runConfiguration(config, code, REPORT_GRACE_MS).overAdmission);
  const total = over.reduce((n, o) => n + o.rateTokens + o.quotaUnits + o.leaseOverspend, 0);
  const right = caught ? total > 0 : total === 0;
  ok &&= right;
  console.log(`${right ? "ok  " : "FAIL"} ${name}: over-admitted ${over.map((o, i) => `${runs[i].name} ${JSON.stringify(o)}`).join(", ")}`);
}
process.exit(ok ? 0 : 1);
