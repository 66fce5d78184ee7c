// `node --test scripts/port-check.test.mjs`: npm start's busy-port check sees a listener on
// loopback and on every interface, and lets a free port through.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { portInUse } from "./port-check.mjs";

const listening = (host) =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, host, () => resolve(server));
  });

test("a port someone listens on is in use, on loopback or on every interface", async () => {
  for (const host of ["127.0.0.1", undefined]) {
    const server = await listening(host);
    assert.equal(await portInUse(server.address().port), true, `listening on ${host ?? "every interface"}`);
    await new Promise((r) => server.close(r));
  }
});

test("a port no one holds is free", async () => {
  const server = await listening("127.0.0.1");
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  assert.equal(await portInUse(port), false);
});
