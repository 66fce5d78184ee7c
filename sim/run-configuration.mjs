// One configuration, simulated: N isolates × one tenant's limiter, on a virtual clock (ms), as a
// discrete-event loop. What it measures is described in simulate-leases.mjs.
import { EventQueue } from "./event-queue.mjs";
import { IsolateModel, REPORT_CARRY_MS, REPORT_POLL_MS, REPORT_WAIT_MAX_MS } from "./isolate-model.mjs";
import { LimiterModel } from "./limiter-model.mjs";
import { exponential, randomStream } from "./random.mjs";
import { arrivals } from "./traffic.mjs";

/** The virtual clock's origin: a Monday, early in a month, so no run crosses a quota period. */
export const EPOCH = Date.UTC(2026, 0, 5);

const ARRIVAL = 0, AT_LIMITER = 1, REPLY = 2, REPORT_CHECK = 3, LEASE_END = 4, ALARM = 5, DEATH = 6;

/**
 * @param config {name, shape, durationMs, isolates, leased, policy, deaths, latency}
 * @param code   the limiter's pure functions (src-code.mjs's limiterCode)
 * @param graceMs REPORT_GRACE_MS
 */
export function runConfiguration(config, code, graceMs) {
  const { durationMs, policy } = config;
  const latency = randomStream(`latency:${config.name}`);
  const oneWayMs = () => config.latency.oneWayMinMs + latency() * (config.latency.oneWayMaxMs - config.latency.oneWayMinMs);
  const originMs = () => Math.min(config.latency.originMaxMs, config.latency.originMinMs + exponential(latency, config.latency.originMeanMs));
  const traffic = arrivals(config.shape, durationMs, config.isolates, `${config.shape.kind}:${config.shape.perSecond}:${durationMs}:${config.isolates}`);

  const queue = new EventQueue();
  const limiter = new LimiterModel(code, policy, graceMs);
  const isolates = Array.from({ length: config.isolates }, () => new IsolateModel(0));
  /** What each lease became on the isolate side (its holding), by lease id. */
  const grants = new Map();

  const m = {
    offered: 0, admitted: 0, admittedUnits: 0, fromLeases: 0, refused: 0, dropped: 0,
    strictAfterWaiting: 0, reportsResent: 0, deaths: 0,
    strandedNow: 0, strandedMax: 0, strandedIntegral: 0,
    callsPerSecond: [], leaseOverspend: 0,
  };

  // Over-admission, rate side: every token the limiter takes, against what a bucket of this
  // capacity and refill could ever give: tokens taken in any (s, t] ≤ capacity + rate × (t − s).
  const capacity = policy.rate ? (policy.rate.burst ?? policy.rate.limit) : Infinity;
  const refillPerMs = policy.rate ? policy.rate.limit / policy.rate.window / 1000 : 0;
  let debited = 0;
  let lowest = 0; // min over s of (tokens taken by s) − refill × s
  let rateExcess = 0;
  limiter.onDebit = (at, tokens) => {
    const now = at - EPOCH;
    lowest = Math.min(lowest, debited - refillPerMs * now);
    debited += tokens;
    rateExcess = Math.max(rateExcess, debited - refillPerMs * now - lowest - capacity);
  };

  const countCall = (now) => {
    const second = Math.floor(now / 1000);
    m.callsPerSecond[second] = (m.callsPerSecond[second] ?? 0) + 1;
  };
  const toLimiter = (now, call) => queue.at(now + oneWayMs(), { kind: AT_LIMITER, call });
  const admitted = (units) => {
    m.admitted++;
    m.admittedUnits += units;
  };
  /** A request served from a lease: admitted with no limiter call; its answer ends `origin` ms later. */
  const serve = (h, now) => {
    admitted(1);
    m.fromLeases++;
    m.strandedNow--;
    if (h.used > h.grant.permits || now >= h.grant.expiresAt) m.leaseOverspend++;
    h.busyUntil = Math.max(h.busyUntil, now + originMs());
  };
  let alarmAt = null;
  const ensureAlarm = (at) => {
    if (alarmAt !== null && alarmAt <= at) return;
    alarmAt = at;
    queue.at(at, { kind: ALARM, at });
  };

  const first = traffic.next();
  if (first !== null) queue.at(first, { kind: ARRIVAL });
  if (config.deaths > 0) {
    const chooser = randomStream(`deaths:${config.name}`);
    const count = Math.max(1, Math.round(config.deaths * config.isolates));
    const order = isolates.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(chooser() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order.slice(0, count)) queue.at(1000 + chooser() * (durationMs - 2000), { kind: DEATH, isolate: i });
  }

  let last = 0;
  while (queue.size > 0) {
    const now = queue.peekTime();
    const e = queue.pop();
    if (m.strandedNow > 0 && last < durationMs) m.strandedIntegral += m.strandedNow * (Math.min(now, durationMs) - last);
    last = now;

    switch (e.kind) {
      case ARRIVAL: {
        m.offered++;
        const i = traffic.isolateOf();
        const isolate = isolates[i];
        const next = traffic.next();
        if (next !== null) queue.at(next, e);
        if (!config.leased) {
          toLimiter(now, { type: "admit", isolate: i, generation: isolate.generation, lease: false });
          break;
        }
        const h = isolate.takePermit(now);
        if (h) serve(h, now);
        else if (isolate.askForLease(now)) {
          const reports = isolate.takeReports(now);
          toLimiter(now, { type: "admit", isolate: i, generation: isolate.generation, lease: true, reports });
        }
        break;
      }
      case AT_LIMITER: {
        const call = e.call;
        countCall(now);
        if (call.type === "report") {
          limiter.reportLeases(call.reports, now + EPOCH);
          break;
        }
        const answer = limiter.admit(now + EPOCH, call);
        if (answer.kind === "admitted") admitted(answer.units);
        else m.refused++;
        if (answer.grant) {
          answer.grant.expiresAt -= EPOCH;
          grants.set(answer.grant.leaseId, answer.grant);
          m.strandedNow += answer.grant.permits;
          m.strandedMax = Math.max(m.strandedMax, m.strandedNow);
          queue.at(answer.grant.expiresAt, { kind: LEASE_END, grant: answer.grant });
          ensureAlarm(answer.grant.expiresAt + graceMs);
        }
        queue.at(now + oneWayMs(), { kind: REPLY, call, answer });
        break;
      }
      case REPLY: {
        const { call, answer } = e;
        const isolate = isolates[call.isolate];
        if (isolate.generation !== call.generation || !call.lease) break; // died; or a plain strict answer
        if (answer.grant) {
          const h = isolate.hold(answer.grant, now);
          answer.grant.holding = h;
          queue.at(Math.max(now, answer.grant.expiresAt), { kind: REPORT_CHECK, isolate: call.isolate, generation: call.generation, h, waited: 0 });
        }
        // A refused admission's reports were applied (a refusal still reads its reports first).

        for (const _ of isolate.leaseAnswered()) {
          const h = isolate.takePermit(now);
          if (h) serve(h, now);
          else {
            m.strictAfterWaiting++;
            toLimiter(now, { type: "admit", isolate: call.isolate, generation: call.generation, lease: false });
          }
        }
        break;
      }
      case REPORT_CHECK: {
        const isolate = isolates[e.isolate];
        if (isolate.generation !== e.generation) break;
        if (e.h.busyUntil > now && e.waited < REPORT_WAIT_MAX_MS) {
          queue.at(now + REPORT_POLL_MS, { ...e, waited: e.waited + REPORT_POLL_MS });
          break;
        }
        if (!e.posted) {
          isolate.leaseDone(e.h, now);
          queue.at(now + REPORT_CARRY_MS, { ...e, posted: true });
          break;
        }
        const reports = isolate.reportWhenDone();
        if (reports) toLimiter(now, { type: "report", reports });
        break;
      }
      case LEASE_END: {
        m.strandedNow -= e.grant.holding ? e.grant.holding.left : e.grant.permits;
        break;
      }
      case ALARM: {
        if (alarmAt !== e.at) break; // superseded by an earlier one
        alarmAt = null;
        limiter.expireLeases(now + EPOCH);
        const next = limiter.nextLeaseAlarm();
        if (next !== null) ensureAlarm(Math.max(now + 1, next - EPOCH));
        break;
      }
      case DEATH: {
        // The isolate vanishes with its holding and its waiting requests; a fresh one takes its traffic.
        const dead = isolates[e.isolate];
        m.deaths++;
        m.dropped += dead.waiting?.length ?? 0;
        isolates[e.isolate] = new IsolateModel(dead.generation + 1);
        break;
      }
    }
  }

  // Units the limiter counted used for unreported leases that no request used: never admitted.
  let lostUnits = 0;
  for (const row of limiter.leases.values()) {
    if (row.state !== "unreported") continue;
    const used = grants.get(row.leaseId).holding?.used ?? 0;
    lostUnits += row.units - used;
  }
  const quotaExcess = policy.quota ? Math.max(0, m.admittedUnits - policy.quota.limit) : 0;
  const overAdmitted = Math.max(0, Math.ceil(rateExcess - 1e-6)) + quotaExcess + m.leaseOverspend;
  // The quota's books once every lease is reported or expired: nothing reserved, and used = the
  // units admitted + the units of unreported leases that no request used. Anything else is a bug.
  const booksBalance = !policy.quota || (limiter.counter.reserved === 0 && limiter.counter.used === m.admittedUnits + lostUnits);
  const calls = limiter.calls.admit + limiter.calls.reportLease;
  return {
    name: config.name,
    offered: m.offered,
    admitted: m.admitted,
    refused: m.refused,
    dropped: m.dropped,
    overAdmitted,
    overAdmission: { rateTokens: Math.max(0, Math.ceil(rateExcess - 1e-6)), quotaUnits: quotaExcess, leaseOverspend: m.leaseOverspend },
    fromLeases: m.fromLeases,
    strictAfterWaiting: m.strictAfterWaiting,
    stranded: { max: m.strandedMax, mean: m.strandedIntegral / durationMs },
    leasesGranted: limiter.leasesGranted,
    permitsGranted: limiter.permitsGranted,
    permitsReturned: limiter.unitsReturned,
    unreportedPermits: limiter.unreportedPermits,
    lostUnits,
    deaths: m.deaths,
    calls: { ...limiter.calls, total: calls, perRequest: m.offered ? calls / m.offered : 0, peakPerSecond: Math.max(0, ...m.callsPerSecond.filter(Number.isFinite)), reportsResent: m.reportsResent },
    storage: { transactions: limiter.transactions, rows: limiter.rows, rowsPerRequest: m.offered ? limiter.rows / m.offered : 0 },
    quota: { ...limiter.counter, booksBalance },
  };
}
