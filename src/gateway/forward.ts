// Step 4 (CONTRACT §3.4): to ORIGIN_URL + path + query, streaming both ways, with the key header
// and client Tollgate-* headers stripped and Tollgate's own added (and signed with ORIGIN_SECRET).
import { hmacSha256Hex } from "../crypto";
import { problem } from "../problems";

export interface ForwardTarget {
  originUrl: string;
  timeoutMs: number;
  secret?: string | undefined;
  now: number; // ms, for the signature timestamp
}

export interface ForwardIdentity {
  tenantId: string;
  surface: string;
  requestId: string;
  keyHeader: string;
  key: string;
}

export async function signature(secret: string, unixSeconds: number, tenantId: string, requestId: string): Promise<string> {
  return `t=${unixSeconds},v1=${await hmacSha256Hex(secret, `${unixSeconds}.${tenantId}.${requestId}`)}`;
}

export async function originRequestHeaders(incoming: Headers, id: ForwardIdentity, target: ForwardTarget): Promise<Headers> {
  const headers = new Headers();
  incoming.forEach((value, name) => {
    if (name === id.keyHeader || name.startsWith("tollgate-") || value.includes(id.key)) return;
    headers.set(name, value);
  });
  headers.set("Tollgate-Tenant", id.tenantId);
  headers.set("Tollgate-Surface", id.surface);
  headers.set("Tollgate-Request-Id", id.requestId);
  if (target.secret) {
    headers.set("Tollgate-Signature", await signature(target.secret, Math.floor(target.now / 1000), id.tenantId, id.requestId));
  }
  return headers;
}

export function originUrl(base: string, incoming: URL): string {
  return base.replace(/\/+$/, "") + incoming.pathname + incoming.search;
}

/** The origin's response; `origin-timeout` or `origin-unavailable` when there is none. */
export async function forward(
  incoming: Request,
  body: ReadableStream | ArrayBuffer | null,
  id: ForwardIdentity,
  target: ForwardTarget,
): Promise<Response> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, target.timeoutMs);
  try {
    return await fetch(originUrl(target.originUrl, new URL(incoming.url)), {
      method: incoming.method,
      headers: await originRequestHeaders(incoming.headers, id, target),
      body,
      redirect: "manual",
      signal: controller.signal,
    });
  } catch (error) {
    if (timedOut) throw problem("origin-timeout", { detail: `The origin did not answer within ${target.timeoutMs} ms.`, surface: id.surface });
    console.error("origin fetch failed", error);
    throw problem("origin-unavailable", { detail: "The origin could not be reached.", surface: id.surface });
  } finally {
    clearTimeout(timer); // the timeout covers the wait for response headers, not the body stream
  }
}
