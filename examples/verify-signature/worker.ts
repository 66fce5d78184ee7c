// Verifying Tollgate-Signature in an origin that runs on Workers (or any runtime with Web Crypto)
// (docs/deploy.md). The signature covers the time, the tenant and the request id — NOT the method,
// path or body: it proves the request came through your gateway for that tenant, recently.
export type Verified = { ok: true; tenant: string; requestId: string } | { ok: false; reason: string };

const encoder = new TextEncoder();

export async function verifyTollgateSignature(headers: Headers, secret: string, { now = Date.now(), maxAgeSeconds = 300 } = {}): Promise<Verified> {
  const signature = headers.get("Tollgate-Signature");
  const tenant = headers.get("Tollgate-Tenant");
  const requestId = headers.get("Tollgate-Request-Id");
  if (signature === null || tenant === null || requestId === null) {
    return { ok: false, reason: "missing Tollgate-Signature, Tollgate-Tenant or Tollgate-Request-Id" };
  }
  const match = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(signature);
  if (!match) return { ok: false, reason: "malformed Tollgate-Signature" };
  const [, t, v1] = match as unknown as [string, string, string];
  if (Math.abs(now / 1000 - Number(t)) > maxAgeSeconds) return { ok: false, reason: "Tollgate-Signature is too old (or from the future)" };
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const mac = new Uint8Array(v1.match(/../g)!.map((byte) => parseInt(byte, 16)));
  // crypto.subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify("HMAC", key, mac, encoder.encode(`${t}.${tenant}.${requestId}`));
  return valid ? { ok: true, tenant, requestId } : { ok: false, reason: "Tollgate-Signature does not match" };
}

// Usage in the origin Worker:
//
//   export default {
//     async fetch(request: Request, env: { ORIGIN_SECRET: string }) {
//       const verified = await verifyTollgateSignature(request.headers, env.ORIGIN_SECRET);
//       if (!verified.ok) return new Response(verified.reason, { status: 401 });
//       // verified.tenant is the caller
//     },
//   };
