// One scenario of `npm run bench`: a warm-up round (discarded), interleaved measured rounds, the
// one-connection latency (every target in turn, request by request), then a drain, so that work a
// target defers past its round (settlement, usage flushes, admissions expiring at the end of their
// lease) is still charged to it. Every round records the CPU of every process tree, so deferred work that lands in
// another target's round is visible, not silently billed to that target.
import { cpuSnapshot } from "./cpu.mjs";
import { interleavedSingleConnection } from "./single.mjs";
import { loadRound } from "./load.mjs";
import { sleep } from "./processes.mjs";
import { latencySummary, spread } from "./stats.mjs";

const deltaOf = (before, after) => Object.fromEntries(Object.keys(after).map((name) => [name, Object.fromEntries(Object.keys(after[name]).map((k) => [k, after[name][k] - before[name][k]]))]));

/**
 * `bench`: { params, roots, cores, targets, limiterCalls(), log(line), failed: string[] }.
 * Answers the scenario's raw rounds and its summary.
 */
export async function runScenario(bench, scenario) {
  const { params, roots, cores, targets, log } = bench;
  const lastLoadEnd = {};
  const requestsOf = {};

  /** One round of one target: load, a short quiet gap, and the CPU each process tree used meanwhile. */
  async function round(target, { connections, seconds, kind }) {
    const callsBefore = target.expectCost ? await bench.limiterCalls(scenario.keys) : null;
    const before = cpuSnapshot(roots);
    const load = await loadRound({ url: target.url, path: target.path, keys: scenario.keys, connections, seconds, expectCost: target.expectCost });
    lastLoadEnd[target.tree] = Date.now();
    await sleep(params.quietMs);
    const after = cpuSnapshot(roots);
    // The limiter calls are read once the reports of the leases still live when the load stopped
    // have left on their own (lease.seconds + REPORT_CARRY_MS after it, and a second more), outside
    // the CPU window: so every call the round caused is counted, and those reports apart.
    if (target.expectCost) await sleep(Math.max(0, lastLoadEnd[target.tree] + params.lease.seconds * 1000 + 2_000 - Date.now()));
    const callsAfter = target.expectCost ? await bench.limiterCalls(scenario.keys) : null;
    const trees = deltaOf(before.trees, after.trees);
    const loadGenerator = after.loadGenerator - before.loadGenerator;
    const machine = after.machine - before.machine;
    const windowMs = (load.seconds * 1000 + params.quietMs) * cores;
    const ours = Object.values(trees).reduce((sum, d) => sum + d.all, 0) + loadGenerator;
    const othersOfOurs = Object.entries(trees).reduce((sum, [name, d]) => sum + (name === target.tree || name === "origin" ? 0 : d.all), 0);
    const errors = load.errors + load.non2xx + load.missingCost;
    const calls =
      callsBefore && callsAfter && callsBefore.since === callsAfter.since && load.requests
        ? { total: callsAfter.total - callsBefore.total, leaseReports: callsAfter.leaseReports - callsBefore.leaseReports }
        : null;
    requestsOf[target.tree] = (requestsOf[target.tree] ?? 0) + load.requests;
    const result = {
      kind,
      target: target.name,
      connections,
      seconds: load.seconds,
      requests: load.requests,
      reqPerSec: load.requests / load.seconds,
      latencyMs: latencySummary(load.latencies),
      errors,
      errorDetail: { connection: load.errors, timeouts: load.timeouts, non2xx: load.non2xx, missingTollgateCost: load.missingCost, statusCodes: load.statusCodes },
      cpuMsPerRequest: load.requests ? trees[target.tree].workerd / load.requests : null,
      workerCpuMsPerRequest: load.requests ? trees[target.tree].runtime / load.requests : null,
      cpuMs: { trees, loadGenerator, machine },
      /** Share of all cores the other targets' processes used during this round (their deferred work). */
      otherTargetsShare: +(othersOfOurs / windowMs).toFixed(3),
      /** Share of all cores used outside the bench's processes (other programs, kernel loopback work). */
      otherLoadShare: +Math.max(0, (machine - ours) / windowMs).toFixed(3),
      admitMs: load.admitMs.length ? latencySummary(load.admitMs).p50 : null,
      limiterCallsPerRequest: calls ? calls.total / load.requests : null,
      /** Of those, the lease reports sent on their own: the last leases' once the load stopped (while it runs, reports travel with lease requests). */
      leaseReportsPerRequest: calls ? calls.leaseReports / load.requests : null,
    };
    if (errors > 0) bench.failed.push(`${scenario.id}/${kind}/${target.name}: ${errors} errors ${JSON.stringify(result.errorDetail)}`);
    return result;
  }

  const start = cpuSnapshot(roots);
  log(`scenario "${scenario.title}": warm-up round (discarded)…`);
  const warmUp = [];
  for (const t of targets) warmUp.push(await round(t, { connections: params.connections, seconds: params.seconds, kind: "warm-up" }));
  const rounds = [];
  for (let i = 0; i < params.rounds; i++) {
    // Rotate who goes first, so that no target always follows the same neighbour.
    const order = targets.map((_, j) => targets[(i + j) % targets.length]);
    const results = {};
    for (const t of order) results[t.name] = await round(t, { connections: params.connections, seconds: params.seconds, kind: `round ${i + 1}` });
    rounds.push(results);
    log(`scenario "${scenario.title}": round ${i + 1}/${params.rounds}: ${targets.map((t) => `${t.name} ${Math.round(results[t.name].reqPerSec)} req/s`).join(", ")}`);
  }
  // One connection: request by request in turn across the targets (bench/single.mjs), not a round
  // per target, so that drift and deferred work hit every target alike.
  log(`scenario "${scenario.title}": one connection, ${params.singleConnectionRequests} requests per target in turn…`);
  const interleaved = await interleavedSingleConnection({ targets, keys: scenario.keys, requestsPerTarget: params.singleConnectionRequests });
  const single = {};
  for (const t of targets) {
    const r = interleaved[t.name];
    lastLoadEnd[t.tree] = Date.now();
    requestsOf[t.tree] = (requestsOf[t.tree] ?? 0) + r.sent;
    single[t.name] = { kind: "1 connection, in turn", target: t.name, connections: 1, requests: r.requests, latencyMs: latencySummary(r.latencies), errors: r.errors, errorDetail: r.errorDetail };
    if (r.errors > 0) bench.failed.push(`${scenario.id}/1 connection/${t.name}: ${r.errors} errors ${JSON.stringify(r.errorDetail)}`);
  }

  // The drain: wait until every target's last load is `drainSeconds` old, sampling each second.
  const drainEnd = Math.max(...Object.values(lastLoadEnd)) + params.drainSeconds * 1000;
  log(`scenario "${scenario.title}": draining deferred work for ${Math.round((drainEnd - Date.now()) / 1000)} s…`);
  const drain = [];
  let previous = cpuSnapshot(roots);
  while (Date.now() < drainEnd) {
    await sleep(Math.min(1000, Math.max(0, drainEnd - Date.now())));
    const now = cpuSnapshot(roots);
    drain.push(Object.fromEntries(Object.entries(deltaOf(previous.trees, now.trees)).map(([name, d]) => [name, Math.round(d.workerd)])));
    previous = now;
  }
  const whole = deltaOf(start.trees, previous.trees);
  const drained = Object.fromEntries(
    Object.keys(requestsOf).map((tree) => [tree, { requests: requestsOf[tree], cpuMsPerRequest: whole[tree].workerd / requestsOf[tree], workerCpuMsPerRequest: whole[tree].runtime / requestsOf[tree] }]),
  );
  return { warmUp, rounds, singleConnection: single, drain: { seconds: params.drainSeconds, workerdMsPerSecond: drain, perTree: drained }, summary: summarise(targets, rounds, single, drained) };
}

/** Per target: median and spread across rounds; per gateway target: ratios to bare and floor, per round. */
function summarise(targets, rounds, single, drained) {
  const of = (name, pick) => spread(rounds.map((r) => pick(r[name])));
  const summary = { targets: {}, ratios: {} };
  // Gateway targets share one process tree: its drained figure covers both of them together.
  const shared = (tree) => targets.filter((t) => t.tree === tree).length > 1;
  for (const t of targets) {
    summary.targets[t.name] = {
      reqPerSec: of(t.name, (r) => r.reqPerSec),
      p50Ms: of(t.name, (r) => r.latencyMs.p50),
      p99Ms: of(t.name, (r) => r.latencyMs.p99),
      cpuMsPerRequest: of(t.name, (r) => r.cpuMsPerRequest),
      workerCpuMsPerRequest: of(t.name, (r) => r.workerCpuMsPerRequest),
      drainedCpuMsPerRequest: drained[t.tree].cpuMsPerRequest,
      drainedCpuShared: shared(t.tree),
      admitMs: of(t.name, (r) => r.admitMs),
      limiterCallsPerRequest: of(t.name, (r) => r.limiterCallsPerRequest),
      leaseReportsPerRequest: of(t.name, (r) => r.leaseReportsPerRequest),
      /** The calls while serving: all of them but the lease reports sent on their own. */
      servingCallsPerRequest: of(t.name, (r) => (r.limiterCallsPerRequest === null ? null : r.limiterCallsPerRequest - r.leaseReportsPerRequest)),
      errors: rounds.reduce((sum, r) => sum + r[t.name].errors, 0),
      otherTargetsShare: of(t.name, (r) => r.otherTargetsShare),
      otherLoadShare: of(t.name, (r) => r.otherLoadShare),
      singleConnectionP50Ms: single[t.name].latencyMs.p50,
    };
  }
  for (const t of targets.filter((t) => t.expectCost)) {
    for (const base of ["bare", "floor"]) {
      const ratio = (pick) => spread(rounds.map((r) => pick(r[t.name]) / pick(r[base])));
      summary.ratios[`${t.name}÷${base}`] = {
        reqPerSec: ratio((r) => r.reqPerSec),
        p50: ratio((r) => r.latencyMs.p50),
        p99: ratio((r) => r.latencyMs.p99),
        cpuMsPerRequest: ratio((r) => r.cpuMsPerRequest),
        workerCpuMsPerRequest: ratio((r) => r.workerCpuMsPerRequest),
        drainedCpuMsPerRequest: drained[t.tree].cpuMsPerRequest / drained[base].cpuMsPerRequest,
        singleConnectionP50DiffMs: single[t.name].latencyMs.p50 - single[base].latencyMs.p50,
      };
    }
  }
  return summary;
}
