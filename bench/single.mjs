// The one-connection latency of every target, measured request by request in turn: one kept-alive
// connection per target, one request at a time, the targets alternating (the first of each cycle
// rotating), so that a drift of the machine — or one target's deferred work, such as the
// gateway's flushes after its rounds — lands on every target alike instead of on whichever ran
// its own round at that moment. Every answer is checked as the load rounds check it.
import http from "node:http";

/** Cycles sent first and discarded (connections opened, isolates warm). */
const WARM_UP_CYCLES = 20;

/** One GET over `agent`: its latency in ms (to the end of the body), status and Tollgate-Cost. */
function get(agent, url, path, key) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request(url + path, { agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume();
      res.on("end", () =>
        resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode ?? 0, cost: res.headers["tollgate-cost"] !== undefined }),
      );
      res.on("error", () => resolve({ ms: 0, status: 0, cost: false, error: true }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ ms: 0, status: 0, cost: false, error: true }));
    req.end();
  });
}

/**
 * `targets`: [{ name, url, path, expectCost }]; `keys` are used round robin, the same key for every
 * target of a cycle. Answers, per target name: { sent (warm-up included), requests, latencies (ms), errors, errorDetail }.
 */
export async function interleavedSingleConnection({ targets, keys, requestsPerTarget }) {
  const agents = new Map(targets.map((t) => [t.name, new http.Agent({ keepAlive: true, maxSockets: 1 })]));
  const out = Object.fromEntries(targets.map((t) => [t.name, { sent: 0, requests: 0, latencies: [], errors: 0, errorDetail: { connection: 0, non2xx: 0, missingTollgateCost: 0 } }]));
  try {
    for (let cycle = 0; cycle < WARM_UP_CYCLES + requestsPerTarget; cycle++) {
      const key = keys[cycle % keys.length];
      for (let j = 0; j < targets.length; j++) {
        const t = targets[(cycle + j) % targets.length];
        const answer = await get(agents.get(t.name), t.url, t.path, key);
        const o = out[t.name];
        o.sent++;
        if (cycle < WARM_UP_CYCLES) continue;
        o.requests++;
        if (answer.error) o.errorDetail.connection++;
        else if (answer.status < 200 || answer.status >= 300) o.errorDetail.non2xx++;
        else if (t.expectCost && !answer.cost) o.errorDetail.missingTollgateCost++;
        else {
          o.latencies.push(answer.ms);
          continue;
        }
        o.errors++;
      }
    }
  } finally {
    for (const agent of agents.values()) agent.destroy();
  }
  return out;
}
