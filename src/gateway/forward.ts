// Step 4 (CONTRACT §3.4): to ORIGIN_URL + path + query, streaming both ways. The origin sees only
// what the gateway vouches for: the key (in any header or query parameter), client Tollgate-*
// headers, client X-Forwarded-*/Forwarded (replaced by the gateway's own) and method overrides
// (they would bypass classification) are dropped; Tollgate's own headers are added and signed
// with ORIGIN_SECRET.
import { hmacSha256Hex } from "../crypto";
import { Problem, problem } from "../problems";
import { KEY_PATTERN_ANYWHERE } from "../tenants/keys";

export interface ForwardTarget {
  originUrl: string;
  timeoutMs: number;
  secret?: string | undefined;
  now: number; // ms, for the signature timestamp
  /** Aborts the forward from outside (a streamed body over the limit); its reason is a Problem. */
  signal?: AbortSignal;
  /** The surface's routes allow this Upgrade (e.g. websocket): the header is passed on. */
  upgrade?: boolean;
  /** The incoming URL, already parsed by the caller. */
  url?: URL;
}

export interface ForwardIdentity {
  tenantId: string;
  /** A delegated call's partner (CONTRACT §7): sent to the origin as Tollgate-Actor. */
  actor?: string;
  surface: string;
  requestId: string;
  keyHeader: string;
  key: string;
}

/** Client headers the origin never sees: they would let a client speak for the gateway. */
const DROPPED = new Set(["forwarded", "x-real-ip", "x-http-method-override", "x-http-method", "x-method-override", "upgrade"]);

export async function signature(secret: string, unixSeconds: number, tenantId: string, requestId: string): Promise<string> {
  return `t=${unixSeconds},v1=${await hmacSha256Hex(secret, `${unixSeconds}.${tenantId}.${requestId}`)}`;
}

export async function originRequestHeaders(incoming: Headers, id: ForwardIdentity, target: ForwardTarget, url: URL): Promise<Headers> {
  const headers = new Headers();
  incoming.forEach((value, name) => {
    if (name === id.keyHeader || name.startsWith("tollgate-") || name.startsWith("x-forwarded-") || value.includes(id.key)) return;
    if (DROPPED.has(name) && !(name === "upgrade" && target.upgrade)) return;
    headers.set(name, value);
  });
  const client = incoming.get("cf-connecting-ip");
  if (client !== null) headers.set("X-Forwarded-For", client);
  headers.set("X-Forwarded-Proto", url.protocol.replace(":", ""));
  headers.set("X-Forwarded-Host", url.host);
  headers.set("Tollgate-Tenant", id.tenantId);
  if (id.actor !== undefined) headers.set("Tollgate-Actor", id.actor);
  headers.set("Tollgate-Surface", id.surface);
  headers.set("Tollgate-Request-Id", id.requestId);
  if (target.secret) {
    headers.set("Tollgate-Signature", await signature(target.secret, Math.floor(target.now / 1000), id.tenantId, id.requestId));
  }
  return headers;
}

/** The origin URL, without any query parameter that carries an API key. */
export function originUrl(base: string, incoming: URL): string {
  let search = incoming.search;
  if (KEY_PATTERN_ANYWHERE.test(search)) {
    const kept = new URLSearchParams([...new URLSearchParams(search)].filter(([, value]) => !KEY_PATTERN_ANYWHERE.test(value))).toString();
    search = kept ? `?${kept}` : "";
  }
  return base.replace(/\/+$/, "") + incoming.pathname + search;
}

/** Statuses a Response can carry and HTTP defines for a final answer (101 only for an allowed upgrade). */
const validStatus = (status: number, upgrade: boolean) => (status >= 200 && status <= 599) || (upgrade && status === 101);

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
  const signal = target.signal ? AbortSignal.any([controller.signal, target.signal]) : controller.signal;
  const url = target.url ?? new URL(incoming.url);
  let response: Response;
  try {
    response = await fetch(originUrl(target.originUrl, url), {
      method: incoming.method,
      headers: await originRequestHeaders(incoming.headers, id, target, url),
      body,
      redirect: "manual",
      signal,
    });
  } catch (error) {
    if (target.signal?.aborted && target.signal.reason instanceof Problem) throw target.signal.reason;
    if (timedOut) throw problem("origin-timeout", { detail: `The origin did not answer within ${target.timeoutMs} ms.`, surface: id.surface });
    console.error("origin fetch failed", error);
    throw problem("origin-unavailable", { detail: "The origin could not be reached.", surface: id.surface });
  } finally {
    clearTimeout(timer); // the timeout covers the wait for response headers, not the body stream
  }
  if (!validStatus(response.status, target.upgrade === true)) {
    await response.body?.cancel().catch(() => undefined);
    throw problem("origin-unavailable", { detail: `The origin answered with status ${response.status}, which is not a valid HTTP status.`, surface: id.surface });
  }
  return response;
}
