// `npm run bench`: what Tollgate costs per request, as ratios against a baseline measured in the
// same process: the same requests through a pass-through Worker (bench/baseline-worker.js) under
// the same `wrangler dev`, in front of the same demo origin on loopback. The gateway runs on
// throwaway local state (--persist-to). A ratio of 1 would mean authentication, classification,
// admission, settlement and metering cost nothing. Writes bench/results/latest.json; compare
// ratios across runs, not milliseconds.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createDemoOrigin } from "../examples/demo-origin.mjs";
import { localVar } from "../scripts/dev-vars.mjs";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PORT = Number(process.env.BENCH_PORT ?? 8797);
const BASELINE_PORT = PORT + 1;
const wrangler = "node_modules/.bin/wrangler";
const adminToken = localVar("ADMIN_TOKEN");
const state = mkdtempSync(join(tmpdir(), "tollgate-bench-"));
const gateway = `http://127.0.0.1:${PORT}`;
const baselineUrl = `http://127.0.0.1:${BASELINE_PORT}`;

const origin = createDemoOrigin();
const originPort = await origin.listen(0);
const originUrl = `http://127.0.0.1:${originPort}`;

spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { stdio: "ignore", env: { ...process.env, CI: "true" } });
// Distinct inspector ports: two `wrangler dev` processes would otherwise race for 9229.
const dev = spawn(wrangler, ["dev", "--port", String(PORT), "--inspector-port", String(PORT + 100), "--ip", "127.0.0.1", "--persist-to", state, "--var", `ORIGIN_URL:${originUrl}`, "--var", `ADMIN_TOKEN:${adminToken}`, "--log-level", "error"], { stdio: "ignore" });
const baselineDev = spawn(wrangler, ["dev", "-c", "bench/baseline.toml", "--port", String(BASELINE_PORT), "--inspector-port", String(PORT + 101), "--ip", "127.0.0.1", "--persist-to", join(state, "baseline"), "--var", `ORIGIN_URL:${originUrl}`, "--log-level", "error"], { stdio: "ignore" });
const stop = async () => {
  dev.kill("SIGTERM");
  baselineDev.kill("SIGTERM");
  await origin.close();
  rmSync(state, { recursive: true, force: true });
};

async function admin(method, path, body) {
  const res = await fetch(`${gateway}/_tollgate/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function ready(url) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("gateway did not start");
}

/** Sends `n` requests, `concurrency` at a time; answers per-request latencies (ms) and wall time. */
async function run(makeRequest, n = REQUESTS, concurrency = CONCURRENCY) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const t = performance.now();
        const res = await makeRequest();
        await res.arrayBuffer();
        if (res.status >= 400) throw new Error(`bench request failed: ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const wall = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { p50: q(0.5), p95: q(0.95), throughput: (n / wall) * 1000 };
}

try {
  await ready(`${gateway}/_tollgate/health`);
  await ready(`${baselineUrl}/v1/events`);
  const catalog = {
    currency: "USD",
    surfaces: {
      "events.feed": { routes: ["GET /v1/events"], meter: { unit: "event", count: { from: "response-header", name: "Events-Delivered" } } },
      "records.write": { routes: ["POST /v1/records"], meter: { unit: "record", count: { from: "json-array", pointer: "/records" } } },
    },
    plans: {
      bench: {
        surfaces: {
          "events.feed": { rule: "metered", price: { unit: "0.0001" }, quota: { limit: 100000000, period: "month" } },
          "records.write": { rule: "metered", price: { unit: "0.001" }, rate: { limit: 100000, window: 1 } },
        },
        incentives: { batch: { minUnits: 10, multiplier: 0.5 } },
      },
    },
  };
  await admin("PUT", "/catalog", catalog);
  await admin("POST", "/tenants", { id: "bench", kind: "customer", plan: "bench" });
  const { key } = await admin("POST", "/tenants/bench/keys", {});
  const auth = { Authorization: `Bearer ${key}` };
  const records = JSON.stringify({ records: Array.from({ length: 20 }, (_, i) => ({ id: i })) });

  const cases = {
    "GET /v1/events": {
      baseline: () => fetch(`${baselineUrl}/v1/events`, { headers: auth }),
      gateway: () => fetch(`${gateway}/v1/events`, { headers: auth }),
    },
    "POST /v1/records (20)": {
      baseline: () => fetch(`${baselineUrl}/v1/records`, { method: "POST", body: records, headers: auth }),
      gateway: () => fetch(`${gateway}/v1/records`, { method: "POST", body: records, headers: auth }),
    },
  };
  // Warm both paths (isolate start, catalog compile, limiter creation) before measuring.
  for (const c of Object.values(cases)) {
    await run(c.baseline, 50);
    await run(c.gateway, 50);
  }
  const results = {};
  for (const [name, c] of Object.entries(cases)) {
    // Interleave baseline and gateway rounds so that drift on the machine affects both alike.
    const rounds = [];
    for (let i = 0; i < 3; i++) rounds.push({ baseline: await run(c.baseline), gateway: await run(c.gateway) });
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    results[name] = {
      p50Ratio: +median(rounds.map((r) => r.gateway.p50 / r.baseline.p50)).toFixed(2),
      p95Ratio: +median(rounds.map((r) => r.gateway.p95 / r.baseline.p95)).toFixed(2),
      throughputRatio: +median(rounds.map((r) => r.gateway.throughput / r.baseline.throughput)).toFixed(3),
    };
  }
  const report = { requests: REQUESTS, concurrency: CONCURRENCY, note: "gateway ÷ pass-through Worker baseline, same process, same wrangler dev runtime, loopback origin", results };
  writeFileSync("bench/results/latest.json", JSON.stringify(report, null, 2) + "\n");
  console.table(results);
} finally {
  await stop();
}
