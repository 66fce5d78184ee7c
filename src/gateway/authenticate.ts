// Step 1 (CONTRACT §3.1): the presented key → tenant. Only a key's existence is checked here;
// revocation, expiry and suspension are checked by the tenant's limiter, which is strongly
// consistent, on the same round trip as admission.
import { problem } from "../problems";
import { KEY_PATTERN, KEY_PATTERN_ANYWHERE, lookupKey, type KeyRef } from "../tenants/keys";

export interface Principal extends KeyRef {
  /** The request header that carried the key: stripped before forwarding. */
  keyHeader: "authorization" | "x-api-key";
  /** The key itself, so that no other header carrying it reaches the origin either. */
  key: string;
}

export function presentedKey(headers: Headers): { key: string; keyHeader: Principal["keyHeader"] } | null {
  const authorization = headers.get("authorization");
  if (authorization !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? { key: match[1]!, keyHeader: "authorization" } : null;
  }
  const apiKey = headers.get("x-api-key");
  return apiKey !== null ? { key: apiKey.trim(), keyHeader: "x-api-key" } : null;
}

export async function authenticate(env: Pick<Env, "DB" | "CACHE">, headers: Headers, url?: URL): Promise<Principal> {
  const presented = presentedKey(headers);
  if (!presented) {
    // A key in the query string leaks into logs and caches: it never authenticates (issue 8).
    const inQuery = url !== undefined && KEY_PATTERN_ANYWHERE.test(url.search);
    throw problem("unauthenticated", {
      detail: inQuery
        ? "API keys in the query string are not accepted: send it as `Authorization: Bearer <key>` or `X-Api-Key: <key>`."
        : "Send an API key as `Authorization: Bearer <key>` or `X-Api-Key: <key>`.",
    });
  }
  if (!KEY_PATTERN.test(presented.key)) throw problem("unauthenticated", { detail: "The API key is malformed." });
  const ref = await lookupKey(env, presented.key);
  if (!ref) throw problem("unauthenticated", { detail: "Unknown API key." });
  return { ...ref, keyHeader: presented.keyHeader, key: presented.key };
}
