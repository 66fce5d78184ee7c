// The "reports" rows of `npm run bench` (docs/performance.md): events per second the gateway
// accepts at POST /_tollgate/admin/usage/reports in batches of 1000, sent by a few concurrent
// senders with an admin token of scope `report`, for one tenant and for 50 (each batch mixing
// them, as an origin's queue does); and the strict scenario's req/s alone and with reports running
// beside it, in alternating rounds. Every batch must answer 200 with all its events accepted:
// anything else (a status, a rejected event, a duplicate) is an error and fails the run.
import { loadRound } from "./load.mjs";
import { sleep } from "./processes.mjs";
import { latencySummary, spread } from "./stats.mjs";

export const REPORT_BATCH = 1000;

/**
 * Sends batches from `senders` concurrent loops for `seconds`; answers what was accepted. Ids are
 * `<prefix>:<sender>:<n>`, unique across the run, so every event is new. With `eventsPerSec`, one
 * sender paces its batches to that rate (a batch starts every 1000/rate s, or as soon as the
 * previous one is answered when the gateway is slower): an origin's steady stream, not a flood.
 */
export async function sendReports({ url, token, tenants, surface, seconds, senders, prefix, eventsPerSec = null }) {
  if (eventsPerSec !== null) senders = 1;
  const intervalMs = eventsPerSec === null ? 0 : (REPORT_BATCH / eventsPerSec) * 1000;
  const result = { batches: 0, events: 0, accepted: 0, errors: 0, errorDetail: {}, batchMs: [] };
  const error = (what) => {
    result.errors++;
    result.errorDetail[what] = (result.errorDetail[what] ?? 0) + 1;
  };
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: senders }, async (_, sender) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const due = start + n * intervalMs;
        if (due > performance.now()) await sleep(due - performance.now());
        if (performance.now() >= deadline) break;
        const events = Array.from({ length: REPORT_BATCH }, (_, i) => ({
          id: `${prefix}:${sender}:${n}:${i}`,
          units: 1,
          tenant: tenants[(n * REPORT_BATCH + i) % tenants.length],
          surface,
        }));
        const t0 = performance.now();
        let res;
        try {
          res = await fetch(`${url}/_tollgate/admin/usage/reports`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ events }),
          });
        } catch (e) {
          error(`connection: ${e.cause?.code ?? e.message}`);
          continue;
        }
        const text = await res.text();
        result.batchMs.push(performance.now() - t0);
        result.batches++;
        result.events += events.length;
        if (res.status !== 200) {
          error(`status ${res.status}: ${text.slice(0, 200)}`);
          continue;
        }
        const answer = JSON.parse(text);
        result.accepted += answer.accepted;
        if (answer.duplicates.length > 0) error("duplicates");
        for (const r of answer.rejected) error(`rejected ${r.code}`);
      }
    }),
  );
  // The whole window at least: a paced sender idle at its end still ran for all of it.
  result.seconds = Math.max(seconds, (performance.now() - start) / 1000);
  result.eventsPerSec = result.accepted / result.seconds;
  result.batchMs = latencySummary(result.batchMs);
  return result;
}

/**
 * `bench`: { params, url, token, surface, tenantIds, strict: { url, path, keys }, log, failed }.
 * Warm-up (discarded), then `rounds` rounds of: 1 tenant, 50 tenants, then strict alone, strict
 * beside a paced stream of reports and strict beside a flood of them (those three in rotating order).
 */
export async function runReports(bench) {
  const { params, url, token, surface, tenantIds, strict, log } = bench;
  const seconds = params.seconds;
  const senders = params.reportSenders;
  const scenarios = [
    { id: "one", title: "1 tenant", tenants: tenantIds.slice(0, 1) },
    { id: "fifty", title: "50 tenants", tenants: tenantIds.slice(1, 51) },
  ];
  let serial = 0;
  const reports = (tenants, kind) => sendReports({ url, token, tenants, surface, seconds, senders, prefix: `bench-${Date.now().toString(36)}-${serial++}-${kind}` });
  const paced = (tenants, kind) => sendReports({ url, token, tenants, surface, seconds, senders: 1, prefix: `bench-${Date.now().toString(36)}-${serial++}-${kind}`, eventsPerSec: params.reportBesideRate });
  const strictRound = () => loadRound({ url: strict.url, path: strict.path, keys: strict.keys, connections: params.connections, seconds, expectCost: true });
  const checked = (name, r) => {
    if (r.errors > 0) bench.failed.push(`reports/${name}: ${r.errors} errors ${JSON.stringify(r.errorDetail)}`);
    return r;
  };
  const strictErrors = (load) => load.errors + load.non2xx + load.missingCost;

  log(`reports: warm-up (discarded), ${senders} senders × ${REPORT_BATCH}-event batches…`);
  checked("warm-up", await reports(scenarios[1].tenants, "warm"));
  const rounds = [];
  for (let i = 0; i < params.rounds; i++) {
    const round = {};
    for (const s of scenarios) {
      round[s.id] = checked(`${s.id}/round ${i + 1}`, await reports(s.tenants, s.id));
      await sleep(params.quietMs);
    }
    // Strict alone and strict beside reports (50 tenants), alternating which goes first.
    const alone = async () => {
      const load = await strictRound();
      if (strictErrors(load) > 0) bench.failed.push(`reports/strict alone/round ${i + 1}: ${strictErrors(load)} errors`);
      round.strictAlone = { reqPerSec: load.requests / load.seconds, p50Ms: latencySummary(load.latencies).p50 };
    };
    // Beside a steady stream at BENCH_REPORT_BESIDE_RATE (an origin's realistic load), and beside
    // the senders flooding as fast as answers come (what the reports take from strict at most).
    const besideWith = (name, send) => async () => {
      const [load, rep] = await Promise.all([strictRound(), send(scenarios[1].tenants, name)]);
      if (strictErrors(load) > 0) bench.failed.push(`reports/strict ${name}/round ${i + 1}: ${strictErrors(load)} errors`);
      round[name] = { reqPerSec: load.requests / load.seconds, p50Ms: latencySummary(load.latencies).p50, reportsPerSec: checked(`${name}/round ${i + 1}`, rep).eventsPerSec };
    };
    const steps = [alone, besideWith("strictBesidePaced", paced), besideWith("strictBesideFlood", reports)];
    // Rotate the order, so that no step always follows the same one.
    for (const step of steps.map((_, j) => steps[(i + j) % steps.length])) {
      await step();
      await sleep(params.quietMs);
    }
    rounds.push(round);
    log(
      `reports: round ${i + 1}/${params.rounds}: 1 tenant ${Math.round(round.one.eventsPerSec)} events/s, 50 tenants ${Math.round(round.fifty.eventsPerSec)} events/s; ` +
        `strict ${Math.round(round.strictAlone.reqPerSec)} req/s alone, ${Math.round(round.strictBesidePaced.reqPerSec)} beside ${params.reportBesideRate} events/s, ${Math.round(round.strictBesideFlood.reqPerSec)} beside the flood`,
    );
  }
  const of = (pick) => spread(rounds.map(pick));
  return {
    senders,
    besideRate: params.reportBesideRate,
    batch: REPORT_BATCH,
    rounds,
    summary: {
      oneTenant: { eventsPerSec: of((r) => r.one.eventsPerSec), batchP50Ms: of((r) => r.one.batchMs.p50), batchP99Ms: of((r) => r.one.batchMs.p99) },
      fiftyTenants: { eventsPerSec: of((r) => r.fifty.eventsPerSec), batchP50Ms: of((r) => r.fifty.batchMs.p50), batchP99Ms: of((r) => r.fifty.batchMs.p99) },
      strictAlone: { reqPerSec: of((r) => r.strictAlone.reqPerSec), p50Ms: of((r) => r.strictAlone.p50Ms) },
      strictBesidePaced: { reqPerSec: of((r) => r.strictBesidePaced.reqPerSec), p50Ms: of((r) => r.strictBesidePaced.p50Ms), reportsPerSec: of((r) => r.strictBesidePaced.reportsPerSec) },
      strictBesideFlood: { reqPerSec: of((r) => r.strictBesideFlood.reqPerSec), p50Ms: of((r) => r.strictBesideFlood.p50Ms), reportsPerSec: of((r) => r.strictBesideFlood.reportsPerSec) },
      /** strict beside ÷ strict alone, per round. */
      strictRatioPaced: of((r) => r.strictBesidePaced.reqPerSec / r.strictAlone.reqPerSec),
      strictRatioFlood: of((r) => r.strictBesideFlood.reqPerSec / r.strictAlone.reqPerSec),
    },
  };
}
