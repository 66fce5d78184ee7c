// Reading Idempotency-Key (CONTRACT §3 Idempotency; IETF httpapi Idempotency-Key draft): a
// structured-field string or a bare token of at most 255 characters.
import { parseItem, Token } from "structured-headers";
import { sha256Hex, toHex } from "../crypto";
import type { IdempotencyClaim } from "../limiter/idempotency";
import { problem } from "../problems";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
export const isUnsafe = (method: string) => !SAFE_METHODS.has(method.toUpperCase());
/** Only POST and PATCH responses are kept for replay (CONTRACT §3). */
export const keepsResponses = (method: string) => ["POST", "PATCH"].includes(method.toUpperCase());

/** The key, null without the header; `invalid-request` for a malformed one. */
export function idempotencyKeyOf(headers: Headers): string | null {
  const raw = headers.get("idempotency-key");
  if (raw === null) return null;
  let value: unknown;
  try {
    value = parseItem(raw)[0];
  } catch {
    value = undefined;
  }
  const key = typeof value === "string" ? value : value instanceof Token ? value.toString() : null;
  if (key === null || key.length === 0 || key.length > 255) {
    throw problem("invalid-request", {
      detail: "Idempotency-Key must be a structured-field string or token of 1 to 255 characters.",
      errors: [{ path: "/headers/idempotency-key", message: "malformed Idempotency-Key" }],
    });
  }
  return key;
}

/** method, path with query and the SHA-256 of the body identify "the same request". */
export async function idempotencyClaim(key: string, method: string, url: URL, body: ArrayBuffer): Promise<IdempotencyClaim> {
  const bodyHash = toHex(await crypto.subtle.digest("SHA-256", body));
  return { key, fingerprint: await sha256Hex(`${method.toUpperCase()} ${url.pathname}${url.search} ${bodyHash}`) };
}

export function isConditional(headers: Headers): boolean {
  return headers.has("if-none-match") || headers.has("if-modified-since");
}
