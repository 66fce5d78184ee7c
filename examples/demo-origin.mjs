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
// GET /_origin/hits answers how many requests each "METHOD path" received; GET /_origin/received
// how many request-body bytes arrived for each (counted as they arrive, so aborted uploads count).
// A webhook receiver (Tollgate's webhooks, CONTRACT §8): POST /_hooks/<name> records the delivery
// (headers and raw body) and answers 204, or 500 to the first N deliveries for that name when the
// registered URL says ?fail=N; GET /_hooks/<name> answers what it recorded, oldest first.
import { createHash } from "node:crypto";
import { createServer } from "node:http";

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

export function createDemoOrigin() {
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
    listen(port = 0, host = "127.0.0.1") {
      return new Promise((resolve) => server.listen(port, host, () => resolve(server.address().port)));
    },
    close() {
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
