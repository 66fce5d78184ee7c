// `node --test examples/verify-signature/`: the Node snippet of docs/deploy.md accepts the signature
// the gateway computes (vector.json, checked against the gateway's own code in
// test/docs/verify-signature.test.ts) and refuses every alteration of it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { verifyTollgateSignature } from "./node.mjs";

const vector = JSON.parse(readFileSync(new URL("./vector.json", import.meta.url), "utf8"));
const at = (seconds) => ({ now: seconds * 1000 });
const headers = (overrides = {}) => ({
  "tollgate-signature": vector.header,
  "tollgate-tenant": vector.tenant,
  "tollgate-request-id": vector.requestId,
  ...overrides,
});

test("accepts the gateway's signature within five minutes, either way", () => {
  assert.deepEqual(verifyTollgateSignature(headers(), vector.secret, at(vector.t)), { ok: true, tenant: vector.tenant, requestId: vector.requestId });
  assert.equal(verifyTollgateSignature(headers(), vector.secret, at(vector.t + 300)).ok, true);
  assert.equal(verifyTollgateSignature(headers(), vector.secret, at(vector.t - 300)).ok, true);
});

test("refuses it older than the max age", () => {
  assert.deepEqual(verifyTollgateSignature(headers(), vector.secret, at(vector.t + 301)), { ok: false, reason: "Tollgate-Signature is too old (or from the future)" });
  assert.equal(verifyTollgateSignature(headers(), vector.secret, { ...at(vector.t + 3600), maxAgeSeconds: 60 }).ok, false);
});

test("refuses another tenant, request id, time, secret or mac", () => {
  const refused = (h, secret = vector.secret) => verifyTollgateSignature(h, secret, at(vector.t));
  assert.equal(refused(headers({ "tollgate-tenant": "other" })).ok, false);
  assert.equal(refused(headers({ "tollgate-request-id": vector.requestId.replace(/.$/, "0") })).ok, false);
  assert.equal(refused(headers({ "tollgate-signature": vector.header.replace(`t=${vector.t}`, `t=${vector.t + 1}`) })).ok, false);
  assert.equal(refused(headers(), "another-secret").ok, false);
  const flipped = vector.header.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
  assert.deepEqual(refused(headers({ "tollgate-signature": flipped })), { ok: false, reason: "Tollgate-Signature does not match" });
});

test("refuses missing, malformed and duplicated headers", () => {
  const { "tollgate-signature": _, ...unsigned } = headers();
  assert.equal(verifyTollgateSignature(unsigned, vector.secret, at(vector.t)).ok, false);
  assert.equal(verifyTollgateSignature(headers({ "tollgate-signature": "t=1,v1=zz" }), vector.secret, at(vector.t)).reason, "malformed Tollgate-Signature");
  assert.equal(verifyTollgateSignature(headers({ "tollgate-tenant": ["acme", "other"] }), vector.secret, at(vector.t)).ok, false);
});

test("docs/deploy.md quotes both snippets exactly as tested", () => {
  const doc = readFileSync(new URL("../../docs/deploy.md", import.meta.url), "utf8");
  for (const file of ["node.mjs", "worker.ts"]) {
    const source = readFileSync(new URL(`./${file}`, import.meta.url), "utf8");
    assert.ok(doc.includes("\n" + source + "```"), `docs/deploy.md must quote examples/verify-signature/${file} as it is`);
  }
});
