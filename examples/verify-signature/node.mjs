// Verifying Tollgate-Signature in a Node origin (docs/deploy.md). The signature covers the time,
// the tenant and the request id — NOT the method, path or body: it proves the request came
// through your gateway for that tenant, recently; it does not protect the request's content.
import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * @param {import("node:http").IncomingHttpHeaders} headers  the request's headers (req.headers)
 * @param {string} secret  the gateway's ORIGIN_SECRET
 * @returns {{ ok: true, tenant: string, requestId: string } | { ok: false, reason: string }}
 */
export function verifyTollgateSignature(headers, secret, { now = Date.now(), maxAgeSeconds = 300 } = {}) {
  const signature = headers["tollgate-signature"];
  const tenant = headers["tollgate-tenant"];
  const requestId = headers["tollgate-request-id"];
  if (typeof signature !== "string" || typeof tenant !== "string" || typeof requestId !== "string") {
    return { ok: false, reason: "missing Tollgate-Signature, Tollgate-Tenant or Tollgate-Request-Id" };
  }
  const match = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(signature);
  if (!match) return { ok: false, reason: "malformed Tollgate-Signature" };
  const [, t, v1] = match;
  if (Math.abs(now / 1000 - Number(t)) > maxAgeSeconds) return { ok: false, reason: "Tollgate-Signature is too old (or from the future)" };
  const expected = createHmac("sha256", secret).update(`${t}.${tenant}.${requestId}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(v1, "hex"))) return { ok: false, reason: "Tollgate-Signature does not match" };
  return { ok: true, tenant, requestId };
}

// Usage in a plain node:http origin:
//
//   import { createServer } from "node:http";
//   createServer((req, res) => {
//     const verified = verifyTollgateSignature(req.headers, process.env.ORIGIN_SECRET);
//     if (!verified.ok) return res.writeHead(401).end(verified.reason);
//     // verified.tenant is the caller; verified.requestId is unique per request (remember the
//     // ids of the last 5 minutes if a replayed request must be refused too)
//   }).listen(8788);
