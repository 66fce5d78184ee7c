// API keys (CONTRACT §3.1): `tg_` + 40 random base62 characters, stored only as SHA-256 hex.
// KV maps a key hash to its tenant for the hot path; D1 is the record of truth.
import { randomBase62, sha256Hex } from "../crypto";
import { cacheKey, cachedKey } from "./key-cache";

export const KEY_PATTERN = /^tg_[0-9A-Za-z]{32,}$/;
/** A key anywhere in a text, e.g. a query string: such a key never authenticates and never reaches the origin. */
export const KEY_PATTERN_ANYWHERE = /tg_[0-9A-Za-z]{32,}/;
const KEY_RANDOM_LENGTH = 40;

export interface KeyRef {
  tenantId: string;
  keyId: string;
}

export function generateKey(): { key: string; prefix: string } {
  const key = `tg_${randomBase62(KEY_RANDOM_LENGTH)}`;
  return { key, prefix: key.slice(0, 11) };
}

export const hashKey = (key: string) => sha256Hex(key);
export const keyCacheName = (hash: string) => `key:${hash}`;

/**
 * The tenant and key id of a presented key, from KV, falling back to D1 (KV is eventually
 * consistent). Revoked keys resolve too: the tenant's limiter answers them `key-revoked`.
 */
export async function lookupKey(env: Pick<Env, "DB" | "CACHE">, key: string, now = Date.now()): Promise<KeyRef | null> {
  // The isolate's cache is keyed by the key itself, so a hot key costs no hashing (issue 15).
  const inIsolate = cachedKey(key, now);
  if (inIsolate) return inIsolate;
  const hash = await hashKey(key);
  const cached = await env.CACHE.get<KeyRef>(keyCacheName(hash), "json");
  if (cached) {
    cacheKey(key, cached, now);
    return cached;
  }
  const row = await env.DB.prepare(
    "SELECT id AS keyId, tenant_id AS tenantId FROM api_keys WHERE hash = ?",
  )
    .bind(hash)
    .first<KeyRef>();
  if (!row) return null;
  await env.CACHE.put(keyCacheName(hash), JSON.stringify(row));
  cacheKey(key, row, now);
  return row;
}
