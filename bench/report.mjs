// The readable half of `npm run bench`'s output: one table per scenario, then the ratios. The
// other half, with every round's raw numbers, is bench/results/latest.json.

const fixed = (digits) => (x) => (x === null || x === undefined ? "n/a" : x.toFixed(digits));
const whole = (x) => (x === null || x === undefined ? "n/a" : String(Math.round(x)));
const signed = (x) => (x === null || x === undefined ? "n/a" : `${x >= 0 ? "+" : ""}${x.toFixed(2)}`);

/** "median (min–max)", or just the median when there was one round. */
function withSpread(s, format) {
  if (s.median === null) return "n/a";
  return s.n > 1 ? `${format(s.median)} (${format(s.min)}–${format(s.max)})` : format(s.median);
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function printReport(report) {
  const { machine: m, parameters: p } = report;
  const out = [];
  out.push("");
  out.push(`Tollgate bench — ${report.date}`);
  out.push(`machine: ${m.os}; ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; node ${m.node}; wrangler ${m.wrangler}; autocannon ${m.autocannon}`);
  out.push(`gateway: ${m.gatewayCommit?.slice(0, 12) ?? "?"}${m.gatewayTreeDirty ? " (uncommitted changes)" : ""}; load average ${m.loadAverageAtStart.join(" ")} at start, ${m.loadAverageAtEnd?.join(" ")} at end`);
  out.push(`${p.rounds} round(s) × ${p.seconds} s at ${p.connections} connections after a discarded warm-up round; medians with (min–max) across rounds`);
  out.push(`machine busy before start: ${Math.round(m.otherLoadShareBeforeStart * 100)}% of all cores (other programs)`);
  out.push("CPU: both workerd processes of a target's `wrangler dev` (its proxy + the Worker runtime); Worker only: the runtime;");
  out.push("     drained: all its CPU from its warm-up to the end of the drain ÷ all its requests (includes work it deferred past its rounds)");
  for (const note of report.notes) out.push(note);
  for (const scenario of Object.values(report.scenarios)) {
    const { targets, ratios } = scenario.summary;
    out.push("");
    out.push(`== ${scenario.title} ==`);
    out.push(
      table(
        ["target", "req/s", "p50 ms", "p99 ms", "1-conn p50 ms", "errors"],
        Object.entries(targets).map(([name, t]) => [name, withSpread(t.reqPerSec, whole), withSpread(t.p50Ms, fixed(2)), withSpread(t.p99Ms, fixed(2)), fixed(2)(t.singleConnectionP50Ms), String(t.errors)]),
      ),
    );
    out.push("");
    out.push(
      table(
        ["CPU ms per request", "in round", "Worker only, in round", `drained (${scenario.drain.seconds} s)`],
        Object.entries(targets).map(([name, t]) => [
          name,
          withSpread(t.cpuMsPerRequest, fixed(3)),
          withSpread(t.workerCpuMsPerRequest, fixed(3)),
          fixed(3)(t.drainedCpuMsPerRequest) + (t.drainedCpuShared ? " (gateway modes together)" : ""),
        ]),
      ),
    );
    out.push("");
    out.push(
      table(
        ["ratio (per round)", "req/s", "p50", "p99", "CPU in round", "Worker CPU", "CPU drained", "1-conn p50 Δ ms"],
        Object.entries(ratios).map(([name, r]) => [
          name,
          withSpread(r.reqPerSec, fixed(2)),
          withSpread(r.p50, fixed(2)),
          withSpread(r.p99, fixed(2)),
          withSpread(r.cpuMsPerRequest, fixed(2)),
          withSpread(r.workerCpuMsPerRequest, fixed(2)),
          fixed(2)(r.drainedCpuMsPerRequest),
          signed(r.singleConnectionP50DiffMs),
        ]),
      ),
    );
    const background = Object.entries(targets)
      .filter(([, t]) => (t.otherTargetsShare.max ?? 0) > 0.03)
      .map(([name, t]) => `${name} ${Math.round(t.otherTargetsShare.max * 100)}%`);
    if (background.length > 0) out.push(`note: the other targets' deferred work used up to this share of the machine during the rounds of: ${background.join(", ")}`);
    const calls = Object.entries(targets).filter(([, t]) => t.limiterCallsPerRequest.n > 0);
    if (calls.length > 0) {
      out.push(`limiter calls per request: ${calls.map(([name, t]) => `${name} ${withSpread(t.limiterCallsPerRequest, fixed(3))}`).join(", ")}`);
      out.push(
        `  of which lease reports sent on their own (the last leases', once the load stopped): ${calls.map(([name, t]) => `${name} ${withSpread(t.leaseReportsPerRequest, fixed(3))}`).join(", ")}`,
      );
      out.push(`  the rest, while serving: ${calls.map(([name, t]) => `${name} ${withSpread(t.servingCallsPerRequest, fixed(3))}`).join(", ")}`);
    }
    const other = Math.max(...Object.values(targets).map((t) => t.otherLoadShare.max ?? 0));
    if (other > 0.1) out.push(`note: up to ${Math.round(other * 100)}% of the machine's CPU went to programs other than the bench during a round; the spread may be wider than the code's`);
  }
  if (report.reports) {
    const r = report.reports.summary;
    out.push("");
    out.push(`== reports: POST /_tollgate/admin/usage/reports, ${report.reports.batch}-event batches from ${report.reports.senders} senders (token scope "report") ==`);
    out.push(
      table(
        ["tenants", "events/s accepted", "batch p50 ms", "batch p99 ms"],
        [
          ["1 tenant", withSpread(r.oneTenant.eventsPerSec, whole), withSpread(r.oneTenant.batchP50Ms, fixed(1)), withSpread(r.oneTenant.batchP99Ms, fixed(1))],
          ["50 tenants", withSpread(r.fiftyTenants.eventsPerSec, whole), withSpread(r.fiftyTenants.batchP50Ms, fixed(1)), withSpread(r.fiftyTenants.batchP99Ms, fixed(1))],
        ],
      ),
    );
    out.push("");
    out.push(
      table(
        ["strict, 100 tenants", "req/s", "p50 ms", "reports events/s beside"],
        [
          ["alone", withSpread(r.strictAlone.reqPerSec, whole), withSpread(r.strictAlone.p50Ms, fixed(2)), "-"],
          [`beside ${report.reports.besideRate} events/s (1 sender, 50 tenants)`, withSpread(r.strictBesidePaced.reqPerSec, whole), withSpread(r.strictBesidePaced.p50Ms, fixed(2)), withSpread(r.strictBesidePaced.reportsPerSec, whole)],
          [`beside a flood (${report.reports.senders} senders, 50 tenants)`, withSpread(r.strictBesideFlood.reqPerSec, whole), withSpread(r.strictBesideFlood.p50Ms, fixed(2)), withSpread(r.strictBesideFlood.reportsPerSec, whole)],
        ],
      ),
    );
    out.push(`strict beside ÷ alone, per round: ${withSpread(r.strictRatioPaced, fixed(2))} beside ${report.reports.besideRate} events/s, ${withSpread(r.strictRatioFlood, fixed(2))} beside the flood`);
  }
  out.push("");
  out.push(`limiter calls: ${report.limiterCalls.source ? `per scenario above (${report.limiterCalls.source})` : report.limiterCalls.note}`);
  out.push(`admit time: ${report.admitTiming.source ? "per round in latest.json (admitMs)" : report.admitTiming.note}`);
  console.log(out.join("\n"));
}
