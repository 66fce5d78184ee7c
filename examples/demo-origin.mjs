// The demo origin API behind Tollgate for `npm start`, also used by the test suite as a real
// HTTP origin on loopback. Every path answers; query knobs shape the answer:
//   ?status=503     answer with that status
//   ?delay=200      wait that many ms before the response headers
//   ?hold=name      wait until POST /_origin/release?hold=name (tests that need a request in flight)
//   ?bytes=5000     a body of that many bytes (with &chunked=1: no Content-Length)
//   ?events=7       set Events-Delivered: 7
//   /_spoof/…       also answer with Tollgate-* headers, as a hostile origin might
// Hostile origins, for the fault tests:
//   ?drop=N         send the headers and N body bytes, then destroy the connection
//   ?lie=N          declare Content-Length: N but send only 10 bytes, then end
//   ?status=600     any status node accepts (100–999), including ones HTTP does not define
//   ?cookies=2      answer with that many Set-Cookie headers
// A request whose If-None-Match matches the ETag of an events resource gets 304.
// Export jobs, when created with { reportTo: { url, token } } (npm start does; the tests mostly
// don't): POST /v1/exports answers 202 {"job", "status": "queued"} and, reportTo.delayMs (3 s)
// later, the job is done and its rows (?rows=N, else a count derived from the job id) are
// reported to the gateway as units of the `reported` meter (examples/report-usage/report.mjs),
// with the request's Tollgate-Request-Id and the id `export:<job>`; GET /v1/exports/<job> answers
// the job. Without reportTo, POST /v1/exports answers 200 {"job": "exp_1", "status": "queued"}.
// GET /_origin/hits answers how many requests each "METHOD path" received; GET /_origin/received
// how many request-body bytes arrived for each (counted as they arrive, so aborted uploads count).
// A webhook receiver (Tollgate's webhooks, CONTRACT §8): POST /_hooks/<name> records the delivery
// (headers and raw body) and answers 204, or 500 to the first N deliveries for that name when the
// registered URL says ?fail=N; GET /_hooks/<name> answers what it recorded, oldest first.
import { createHash, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { jobEvent, reportUsage } from "./report-usage/report.mjs";

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

function demoBody(method, path, url, body) {
  if (path.startsWith("/v1/events")) {
    const n = Number(url.searchParams.get("limit") ?? 3);
    return { events: Array.from({ length: n }, (_, i) => ({ id: `evt_${i + 1}`, type: "order.created" })) };
  }
  if (path === "/v1/records" && method === "POST") {
    try {
      return { accepted: JSON.parse(body.toString("utf8")).records?.length ?? 0 };
    } catch {
      return { accepted: 0 };
    }
  }
  if (path === "/v1/exports") return { job: "exp_1", status: "queued" };
  if (path.startsWith("/v1/admin/")) return { done: true, action: path.slice("/v1/admin/".length) };
  if (path.startsWith("/v1/partners/")) return { relayed: true, to: path.split("/")[3] };
  return null;
}

export function createDemoOrigin({ reportTo } = {}) {
  const exports = reportTo ? exportJobs(reportTo) : null;
  const hits = new Map();
  const received = new Map(); // "METHOD path" → request body bytes that arrived, even from an aborted upload
  const holds = new Map(); // name → { released: Promise, release() }; a release may come first
  const hooks = new Map(); // name → [{ status, headers, body }] as webhook deliveries arrived
  const holdOf = (name) => {
    if (!holds.has(name)) {
      let release;
      const released = new Promise((r) => (release = r));
      holds.set(name, { released, release });
    }
    return holds.get(name);
  };
  const server = createServer((req, res) => {
    const chunks = [];
    const receivedKey = `${req.method} ${new URL(req.url ?? "/", "http://origin").pathname}`;
    req.on("data", (c) => {
      chunks.push(c);
      received.set(receivedKey, (received.get(receivedKey) ?? 0) + c.length);
    });
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://origin");
      const path = url.pathname;
      if (path === "/_origin/hits") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(Object.fromEntries(hits)));
      }
      if (path === "/_origin/received") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(Object.fromEntries(received)));
      }
      if (path === "/_origin/release" && url.searchParams.get("hold")) {
        holdOf(url.searchParams.get("hold")).release();
        res.writeHead(204);
        return res.end();
      }
      if (path.startsWith("/_hooks/")) return receiveHook(hooks, req, res, url, Buffer.concat(chunks));
      const key = `${req.method} ${path}`;
      hits.set(key, (hits.get(key) ?? 0) + 1);
      const body = Buffer.concat(chunks);
      const q = (name) => url.searchParams.get(name);
      if (exports && path.startsWith("/v1/exports")) return exports.answer(req, res, url);
      if (q("delay")) await new Promise((r) => setTimeout(r, Number(q("delay"))));
      if (q("hold")) await holdOf(q("hold")).released;
      if (res.destroyed) return;
      const status = Number(q("status") ?? 200);
      const headers = { "x-origin": "demo" };
      // Under /_spoof the origin pretends to speak for Tollgate (tests of header hygiene).
      if (path.startsWith("/_spoof")) Object.assign(headers, { "tollgate-incentives": "batch", "tollgate-units": "999", "tollgate-cost": "-5" });
      if (q("events")) headers["events-delivered"] = q("events");
      if (q("cookies")) headers["set-cookie"] = Array.from({ length: Number(q("cookies")) }, (_, i) => `c${i}=v${i}; Path=/`);
      if (path.startsWith("/v1/events") && req.method === "GET") {
        const n = Number(url.searchParams.get("limit") ?? 3);
        headers["events-delivered"] ??= String(n);
        headers.etag = `"events-${n}"`;
        if (req.headers["if-none-match"] === headers.etag) {
          res.writeHead(304, headers);
          return res.end();
        }
      }
      if (q("drop") !== null) {
        res.writeHead(status, { ...headers, "content-type": "application/octet-stream", "content-length": "100000" });
        res.write(Buffer.alloc(Number(q("drop")), 0x61));
        return void setTimeout(() => res.destroy(), 20);
      }
      if (q("lie") !== null) {
        res.writeHead(status, { ...headers, "content-type": "application/octet-stream", "content-length": q("lie") });
        res.write(Buffer.alloc(10, 0x61));
        return void setTimeout(() => res.socket?.end(), 20);
      }
      if (q("bytes")) {
        const size = Number(q("bytes"));
        if (size > 16 * 1024 * 1024) return void streamLarge(res, status, headers, size, Boolean(q("chunked")));
        const payload = Buffer.alloc(size, 0x61);
        if (q("chunked")) {
          res.writeHead(status, { ...headers, "content-type": "application/octet-stream", "transfer-encoding": "chunked" });
          for (let i = 0; i < size; i += 1024) res.write(payload.subarray(i, i + 1024));
          return res.end();
        }
        res.writeHead(status, { ...headers, "content-type": "application/octet-stream", "content-length": String(size) });
        return res.end(payload);
      }
      const answer = demoBody(req.method, path, url, body) ?? {
        method: req.method,
        path,
        query: url.search,
        headers: req.headers,
        bodyLength: body.length,
        bodySha256: sha256(body),
      };
      const json = JSON.stringify(answer);
      res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(json)) });
      res.end(json);
    });
  });
  return {
    server,
    hits,
    /** With reportTo: every report the export jobs sent, as { job, event, answer } or { job, event, error }. */
    reports: exports?.reports ?? [],
    listen(port = 0, host = "127.0.0.1") {
      return new Promise((resolve) => server.listen(port, host, () => resolve(server.address().port)));
    },
    close() {
      exports?.stop();
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.argv[2] ?? 8788);
  const origin = createDemoOrigin();
  await origin.listen(port);
  console.log(`demo origin on http://127.0.0.1:${port}`);
}

/** The webhook receiver: records every delivery, and fails the first ?fail=N of them with 500. */
function receiveHook(hooks, req, res, url, body) {
  const name = decodeURIComponent(url.pathname.slice("/_hooks/".length));
  if (!hooks.has(name)) hooks.set(name, []);
  const received = hooks.get(name);
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify(received));
  }
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "GET, POST" });
    return res.end();
  }
  const status = received.length < Number(url.searchParams.get("fail") ?? 0) ? 500 : 204;
  received.push({ status, headers: req.headers, body: body.toString("utf8") });
  res.writeHead(status);
  res.end();
}

/** A large body (e.g. ?bytes=1000000000, a 1 GB sync) written in 1 MiB chunks as the socket drains, never held whole. */
function streamLarge(res, status, headers, size, chunked) {
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  res.writeHead(status, { ...headers, "content-type": "application/octet-stream", ...(chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(size) }) });
  let sent = 0;
  const pump = () => {
    while (sent < size) {
      const n = Math.min(chunk.length, size - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once("drain", pump);
    }
    res.end();
  };
  pump();
}

/**
 * Export jobs that finish after the answer and report their rows (CONTRACT §11). The job id is
 * derived from the request id, so a restarted demo origin never reuses one: the report's id
 * `export:<job>` names the job, and sending it again counts once.
 */
function exportJobs({ url, token, delayMs = 3000, log = (line) => console.log(line) }) {
  const jobs = new Map();
  const timers = new Set();
  const reports = [];
  const json = (res, status, value) => {
    const text = JSON.stringify(value);
    res.writeHead(status, { "x-origin": "demo", "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
    res.end(text);
  };
  const finish = async (job) => {
    job.status = "done";
    const event = { ...jobEvent(job) };
    // Called without the gateway in front (no request id): name the tenant and surface instead.
    if (!job.requestId) Object.assign(event, { tenant: job.tenant, surface: job.surface });
    try {
      // The token may be a function: npm start creates it only once the gateway is up.
      const answer = await reportUsage([event], { url, token: typeof token === "function" ? token() : token });
      reports.push({ job: job.id, event, answer });
      const outcome = answer.accepted ? "accepted" : answer.duplicates.length ? "duplicate" : `rejected: ${answer.rejected.map((r) => `${r.code} — ${r.detail}`).join("; ")}`;
      log(`demo origin: export ${job.id} done, reported ${job.rows} rows (${outcome})`);
    } catch (error) {
      reports.push({ job: job.id, event, error: String(error) });
      log(`demo origin: export ${job.id} done, its report failed: ${error}`);
    }
  };
  return {
    reports,
    answer(req, res, url) {
      if (req.method === "GET") {
        const job = jobs.get(url.pathname.split("/")[3]);
        if (!job) return json(res, 404, { error: "no such export job" });
        return json(res, 200, { job: job.id, status: job.status, ...(job.status === "done" ? { rows: job.rows } : {}) });
      }
      if (req.method !== "POST" || url.pathname !== "/v1/exports") return json(res, 405, { error: "POST /v1/exports or GET /v1/exports/<job>" });
      const requestId = req.headers["tollgate-request-id"];
      const id = `exp_${createHash("sha256").update(requestId ?? randomUUID()).digest("hex").slice(0, 16)}`;
      const asked = Number(url.searchParams.get("rows"));
      const rows = Number.isInteger(asked) && asked >= 0 && url.searchParams.has("rows") ? asked : 100 + (parseInt(id.slice(4, 12), 16) % 4901);
      const job = { id, rows, requestId, tenant: req.headers["tollgate-tenant"], surface: req.headers["tollgate-surface"] ?? "bulk.export", status: "queued" };
      jobs.set(id, job);
      const timer = setTimeout(() => {
        timers.delete(timer);
        void finish(job);
      }, delayMs);
      timers.add(timer);
      json(res, 202, { job: id, status: "queued" });
    },
    stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
