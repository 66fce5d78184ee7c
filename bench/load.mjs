// One round of load against one target with autocannon: N connections for a fixed time, every
// answer checked. Latencies are kept at full precision from autocannon's `response` event (its
// own histogram rounds to whole milliseconds, too coarse for a loopback p50).
import autocannon from "autocannon";

/** Header lookup that does not depend on how the server spelled the name. */
function headerOf(headers, name) {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

const ADMIT = /(?:^|,)\s*tg-admit\s*;[^,]*?\bdur=([\d.]+)/;

/**
 * Runs one round. `keys` are sent round robin (each connection starts at a different key, so
 * that 32 connections spread over 100 tenants at once). With `expectCost`, an answer without a
 * `Tollgate-Cost` header counts as an error even when it is 2xx.
 */
export async function loadRound({ url, path, keys, connections, seconds, expectCost }) {
  const checks = { missingCost: 0, admitMs: [] };
  const onResponse = expectCost
    ? (status, _body, _context, headers) => {
        if (status >= 200 && status < 300 && headerOf(headers, "tollgate-cost") === undefined) checks.missingCost++;
        const timing = headerOf(headers, "server-timing");
        const admit = timing === undefined ? null : ADMIT.exec(String(timing));
        if (admit) checks.admitMs.push(Number(admit[1]));
      }
    : undefined;
  const requestFor = (key) => ({ method: "GET", path, headers: { authorization: `Bearer ${key}` }, ...(onResponse ? { onResponse } : {}) });
  let clientIndex = 0;
  const stride = Math.max(1, Math.floor(keys.length / connections));
  const latencies = [];
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [requestFor(keys[0])],
    setupClient(client) {
      const start = (clientIndex++ * stride) % keys.length;
      client.setRequests(keys.map((_, i) => requestFor(keys[(start + i) % keys.length])));
    },
  });
  instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  const result = await instance;
  return {
    requests: result.totalCompletedRequests ?? result.requests.total,
    seconds: result.duration,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, Number(count)])),
    missingCost: checks.missingCost,
    latencies,
    admitMs: checks.admitMs,
  };
}
