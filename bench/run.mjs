// `npm run bench` (docs/performance.md): what the gateway costs per request, measured over HTTP
// against two Workers run the same way in the same run: `bare` (a pass-through) and `floor` (one
// RPC to a SQLite Durable Object that writes one row, then the same forward; CONTRACT §6). Each
// runs under its own `wrangler dev`, the demo origin in its own process, the load from autocannon
// here. Rounds are interleaved so that drift on the machine hits every target alike; the report
// gives medians with their min–max spread, and ratios per round. Any gateway answer that is not
// 2xx or lacks `Tollgate-Cost` is an error, and errors fail the run: a broken path is not measured.
import { localVar } from "../scripts/dev-vars.mjs";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { machineBusyMs, tickMs, workerdOf } from "./cpu.mjs";
import { freePorts, killAllGroupsNow, sleep, startGroup, stopAllGroups } from "./processes.mjs";
import { printReport } from "./report.mjs";
import { runReports } from "./reports.mjs";
import { runScenario } from "./scenario.mjs";
import { nodeBinary, untilAnswering, wranglerDev, wranglerRun } from "./wrangler.mjs";

const QUICK = process.env.BENCH_QUICK === "1";
const params = {
  quick: QUICK,
  connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
  seconds: QUICK ? 2 : Number(process.env.BENCH_SECONDS ?? 5),
  rounds: QUICK ? 1 : Number(process.env.BENCH_ROUNDS ?? 3),
  /** Requests per target of the one-connection measurement, sent in turn across the targets (bench/single.mjs). */
  singleConnectionRequests: QUICK ? 50 : Number(process.env.BENCH_SINGLE_REQUESTS ?? 500),
  tenants: 100,
  /** After each round, before the CPU is read again: what a target finishes just after its answers lands in its round. */
  quietMs: 500,
  /** After the last round, until every target's last load is this old: an admission not settled is settled at the end of its lease, 60 s (CONTRACT §6). */
  drainSeconds: Number(process.env.BENCH_DRAIN_SECONDS ?? (QUICK ? 5 : 65)),
  lease: { permits: 100, seconds: 2 },
  /** Concurrent senders of 1000-event batches in the "reports" rows. */
  reportSenders: Number(process.env.BENCH_REPORT_SENDERS ?? 4),
  /** Events/s of the steady report stream that runs beside the strict scenario. */
  reportBesideRate: Number(process.env.BENCH_REPORT_BESIDE_RATE ?? 2000),
  /** What to run: any of `hot`, `tenants`, `reports` (comma-separated); all of them by default. */
  only: (process.env.BENCH_ONLY ?? "hot,tenants,reports").split(",").map((s) => s.trim()).filter(Boolean),
};
const RESULTS = "bench/results/latest.json";

const state = mkdtempSync(join(os.tmpdir(), "tollgate-bench-"));
let cleaned = false;
async function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  await stopAllGroups();
  rmSync(state, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping everything it started`);
    cleanUp().finally(() => process.exit(130));
  });
}
process.on("exit", () => {
  killAllGroupsNow();
  if (!cleaned) rmSync(state, { recursive: true, force: true });
});

/** The admin token the gateway will have: the developer's .dev.vars, else the committed example. */
const adminToken = () => localVar("ADMIN_TOKEN");

/** Starts the demo origin in its own process and answers its URL (it prints the port it bound). */
async function startOrigin() {
  const group = startGroup("origin", nodeBinary, ["bench/origin.mjs"]);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const line = /^\{.*\}$/m.exec(group.tail.text);
    if (line) return { name: "origin", pid: group.pid, url: `http://127.0.0.1:${JSON.parse(line[0]).port}` };
    if (group.exited) break;
    await sleep(50);
  }
  throw new Error(`demo origin did not start\n${group.tail.text}`);
}

function adminClient(gatewayUrl, token) {
  return async function admin(method, path, body, { allowRefusal = false } = {}) {
    const res = await fetch(`${gatewayUrl}/_tollgate/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok && !allowRefusal) throw new Error(`${method} /_tollgate/admin${path}: ${res.status} ${text}`);
    return { ok: res.ok, status: res.status, text, json: res.ok && text ? JSON.parse(text) : null };
  };
}

/**
 * The bench catalog: one GET surface per admission mode, metered per request with a price and a
 * quota that never refuses, so the gateway does a full admission and settlement per request; and
 * (with `reported`) a surface whose units arrive by report, for the "reports" rows.
 */
function benchCatalog({ leased, reported }) {
  const meter = { unit: "request", count: { from: "request" } };
  const metered = { rule: "metered", price: { unit: "0.0001" }, quota: { limit: 1_000_000_000, period: "month" } };
  return {
    currency: "USD",
    surfaces: {
      "events.strict": { description: "bench: strict admission", routes: ["GET /v1/events/strict"], meter },
      "events.leased": { description: "bench: leased admission", routes: ["GET /v1/events/leased"], meter },
      ...(reported ? { "jobs.reported": { description: "bench: units reported after the fact", routes: ["POST /v1/jobs"], meter: { unit: "row", count: { from: "reported" } } } } : {}),
    },
    plans: {
      bench: {
        surfaces: {
          ...(leased
            ? {
                "events.strict": { ...metered, admission: "strict" },
                "events.leased": { ...metered, admission: "leased", lease: params.lease },
              }
            : { "events.strict": metered, "events.leased": metered }),
          ...(reported ? { "jobs.reported": metered } : {}),
        },
      },
    },
  };
}

/** Runs `task` over `items`, `width` at a time. */
async function inParallel(items, width, task) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i], i);
      }
    }),
  );
  return results;
}

/** One check request per target before any load: a broken path fails here, with its answer shown. */
async function preflight(target, key) {
  const res = await fetch(target.url + target.path, { headers: { authorization: `Bearer ${key}` } });
  const body = await res.text();
  if (!res.ok || (target.expectCost && !res.headers.has("tollgate-cost"))) {
    throw new Error(`${target.name}: GET ${target.path} answered ${res.status}${res.ok ? " without Tollgate-Cost" : ""}: ${body.slice(0, 500)}`);
  }
  return { status: res.status, cost: res.headers.get("tollgate-cost"), serverTiming: res.headers.get("server-timing") };
}

function machine() {
  const cpus = os.cpus();
  const git = (...args) => {
    try {
      return execFileSync("git", args, { encoding: "utf8" }).trim();
    } catch {
      return null;
    }
  };
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? "unknown",
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    wrangler: JSON.parse(readFileSync("node_modules/wrangler/package.json", "utf8")).version,
    autocannon: JSON.parse(readFileSync("node_modules/autocannon/package.json", "utf8")).version,
    clockTickMs: tickMs,
    gatewayCommit: git("rev-parse", "HEAD"),
    gatewayTreeDirty: (git("status", "--porcelain", "--", "src", "wrangler.toml", "migrations") ?? "") !== "",
    loadAverageAtStart: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

async function main() {
  const startedAt = new Date();
  const report = { date: startedAt.toISOString(), machine: machine(), parameters: params, notes: [], scenarios: {} };
  const log = (line) => console.error(`bench: ${line}`);
  log(`${params.rounds} round(s) × ${params.seconds} s at ${params.connections} connections${QUICK ? " (BENCH_QUICK)" : ""}; state in ${state}`);

  // What the machine does without us: a shared machine's other work widens every spread.
  const busyBefore = machineBusyMs();
  await sleep(2000);
  report.machine.otherLoadShareBeforeStart = +((machineBusyMs() - busyBefore) / (2000 * report.machine.cores)).toFixed(3);
  if (report.machine.otherLoadShareBeforeStart > 0.25) log(`warning: ${Math.round(report.machine.otherLoadShareBeforeStart * 100)}% of the machine's CPU was busy before the bench started`);

  const origin = await startOrigin();
  const token = adminToken();
  const gatewayState = join(state, "gateway");
  // The gateway's D1 schema first, into the state its `wrangler dev` will use.
  await wranglerRun("d1-migrations", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", gatewayState], { CI: "true" });
  const ports = await freePorts(6);
  const vars = { ORIGIN_URL: origin.url };
  const gateway = wranglerDev("gateway", { port: ports[0], inspectorPort: ports[1], persistTo: gatewayState, vars: { ...vars, ADMIN_TOKEN: token } });
  const bare = wranglerDev("bare", { config: "bench/baseline.toml", port: ports[2], inspectorPort: ports[3], persistTo: join(state, "bare"), vars });
  const floor = wranglerDev("floor", { config: "bench/floor.toml", port: ports[4], inspectorPort: ports[5], persistTo: join(state, "floor"), vars });
  log("starting the origin and three `wrangler dev` (gateway, bare, floor)…");
  await Promise.all([untilAnswering(gateway, "/_tollgate/health"), untilAnswering(bare, "/v1/events"), untilAnswering(floor, "/v1/events")]);

  const admin = adminClient(gateway.url, token);
  // The fullest catalog this gateway takes: a gateway without reported meters or leases is still measured.
  let leased = false;
  let reported = false;
  for (const flags of [{ leased: true, reported: true }, { leased: true, reported: false }, { leased: false, reported: false }]) {
    const put = await admin("PUT", "/catalog", benchCatalog(flags), { allowRefusal: flags.leased || flags.reported });
    if (put.ok) {
      ({ leased, reported } = flags);
      break;
    }
    const note = `${flags.reported ? "reports" : "leased"}: not supported by this gateway (catalog refused: ${put.status} ${put.text.slice(0, 300)})`;
    console.log(note);
    report.notes.push(note);
  }
  const tenantIds = ["hot", ...Array.from({ length: params.tenants }, (_, i) => `t${String(i).padStart(3, "0")}`)];
  log(`creating ${tenantIds.length} tenants with a key each…`);
  const keys = await inParallel(tenantIds, 4, async (id) => {
    await admin("POST", "/tenants", { id, kind: "customer", plan: "bench" });
    return (await admin("POST", `/tenants/${id}/keys`, { name: "bench" })).json.key;
  });

  const roots = { origin: { pid: origin.pid } };
  for (const [name, dev] of Object.entries({ gateway, bare, floor })) {
    const workerd = workerdOf(dev.pid, dev.port);
    if (workerd.runtime.length === 0) throw new Error(`${name}: found no workerd process under wrangler (pid ${dev.pid})`);
    roots[name] = { pid: dev.pid, runtimePids: workerd.runtime, proxyPids: workerd.proxy };
  }
  report.processes = roots;
  const targets = [
    { name: "bare", url: bare.url, path: "/v1/events", tree: "bare", expectCost: false },
    { name: "floor", url: floor.url, path: "/v1/events", tree: "floor", expectCost: false },
    { name: "gateway-strict", url: gateway.url, path: "/v1/events/strict", tree: "gateway", expectCost: true },
    ...(leased ? [{ name: "gateway-leased", url: gateway.url, path: "/v1/events/leased", tree: "gateway", expectCost: true }] : []),
  ];
  const scenarios = [
    { id: "hot", title: "one hot tenant", keys: [keys[0]] },
    { id: "tenants", title: `${params.tenants} tenants, keys round robin`, keys: keys.slice(1) },
  ];

  report.preflight = {};
  for (const t of targets) report.preflight[t.name] = await preflight(t, keys[0]);
  const sample = report.preflight["gateway-strict"];
  const admitExposed = /tg-admit\s*;[^,]*dur=/.test(sample.serverTiming ?? "");
  // Every RPC a tenant's limiter served, from GET /_tollgate/admin/tenants/:id/limiter (calls since
  // the object started; a restart between two reads makes that round's count n/a).
  const tenantOfKey = new Map(keys.map((k, i) => [k, tenantIds[i]]));
  const probe = await admin("GET", `/tenants/${tenantIds[0]}/limiter`, undefined, { allowRefusal: true });
  report.limiterCalls = probe.ok
    ? { source: "GET /_tollgate/admin/tenants/:id/limiter (sum of calls)" }
    : { source: null, note: `n/a: GET /_tollgate/admin/tenants/:id/limiter answered ${probe.status}` };
  report.admitTiming = admitExposed ? { source: "Server-Timing tg-admit" } : { source: null, note: "n/a: the gateway sends no Server-Timing tg-admit" };
  const limiterCalls = async (scenarioKeys) => {
    if (!probe.ok) return null;
    const stats = await inParallel(scenarioKeys.map((k) => tenantOfKey.get(k)), 4, async (id) => (await admin("GET", `/tenants/${id}/limiter`)).json);
    return {
      total: stats.reduce((n, s) => n + Object.values(s.calls).reduce((a, b) => a + b, 0), 0),
      leaseReports: stats.reduce((n, s) => n + (s.calls.reportLease ?? 0), 0),
      since: stats.map((s) => s.since).join(","),
    };
  };

  const failed = [];
  const bench = { params, roots, cores: report.machine.cores, targets, limiterCalls, log, failed };
  for (const scenario of scenarios) {
    if (!params.only.includes(scenario.id)) continue;
    report.scenarios[scenario.id] = { title: scenario.title, tenants: scenario.keys.length, ...(await runScenario(bench, scenario)) };
  }

  if (reported && params.only.includes("reports")) {
    const reportToken = await admin("POST", "/tokens", { name: "bench-reporter", scopes: ["report"] }, { allowRefusal: true });
    if (reportToken.ok) {
      report.reports = await runReports({
        params,
        url: gateway.url,
        token: reportToken.json.token,
        surface: "jobs.reported",
        tenantIds,
        strict: { url: gateway.url, path: "/v1/events/strict", keys: keys.slice(1) },
        log,
        failed,
      });
    } else {
      const note = `reports: no admin token with scope "report" (${reportToken.status} ${reportToken.text.slice(0, 300)})`;
      console.log(note);
      report.notes.push(note);
    }
  }

  report.machine.loadAverageAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  report.durationSeconds = Math.round((Date.now() - startedAt.getTime()) / 1000);
  report.failed = failed;
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(report, null, 2) + "\n");
  printReport(report);
  console.log(`\nwritten: ${RESULTS}`);
  if (failed.length > 0) {
    console.error(`\nBENCH FAILED: ${failed.length} round(s) had errors — a path that answers errors is not measured:`);
    for (const f of failed) console.error(`  ${f}`);
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (error) {
  console.error(`\nBENCH FAILED: ${error.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
