// The bench's one-connection measurement (bench/single.mjs) against loopback servers: every
// target gets the same number of requests in turn, one connection each, and an answer that is
// not 2xx, or a gateway's without Tollgate-Cost, is counted as an error rather than measured.
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { interleavedSingleConnection } from "./single.mjs";

/** A server answering `answer(n)` to its n-th request; it records the keys and connections it saw. */
async function server(answer) {
  const seen = { requests: 0, keys: [], sockets: new Set() };
  const s = http.createServer((req, res) => {
    seen.keys.push(req.headers.authorization);
    seen.sockets.add(req.socket);
    const { status, cost } = answer(seen.requests++);
    res.writeHead(status, cost ? { "Tollgate-Cost": "0.0001" } : {});
    res.end("ok");
  });
  await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${s.address().port}`, seen, close: () => new Promise((resolve) => s.close(resolve)) };
}

test("every target in turn, one connection each, each key round robin; bad answers are errors, not latencies", async () => {
  const fine = await server(() => ({ status: 200, cost: true }));
  const noCost = await server((n) => ({ status: 200, cost: n % 2 === 0 }));
  const failing = await server((n) => ({ status: n % 4 === 0 ? 500 : 200, cost: false }));
  try {
    const out = await interleavedSingleConnection({
      targets: [
        { name: "fine", url: fine.url, path: "/x", expectCost: true },
        { name: "no-cost", url: noCost.url, path: "/x", expectCost: true },
        { name: "failing", url: failing.url, path: "/x", expectCost: false },
      ],
      keys: ["a", "b", "c"],
      requestsPerTarget: 40,
    });
    for (const name of ["fine", "no-cost", "failing"]) {
      assert.equal(out[name].requests, 40);
      assert.equal(out[name].sent, 60); // 20 warm-up cycles first
      assert.equal(out[name].latencies.length + out[name].errors, 40);
    }
    assert.equal(out.fine.errors, 0);
    assert.ok(out.fine.latencies.every((ms) => ms > 0));
    assert.equal(out["no-cost"].errors, 20);
    assert.equal(out["no-cost"].errorDetail.missingTollgateCost, 20);
    assert.equal(out.failing.errors, 10);
    assert.equal(out.failing.errorDetail.non2xx, 10);
    assert.equal(fine.seen.sockets.size, 1); // one kept-alive connection
    assert.deepEqual(fine.seen.keys.slice(0, 4), ["Bearer a", "Bearer b", "Bearer c", "Bearer a"]);
  } finally {
    await Promise.all([fine.close(), noCost.close(), failing.close()]);
  }
});
