// API keys (CONTRACT §3.1): `tg_` + 40 random base62 characters, stored only as SHA-256 hex.
// KV maps a key hash to its tenant for the hot path; D1 is the record of truth.
import { randomBase62, sha256Hex } from "../crypto";

export const KEY_PATTERN = /^tg_[0-9A-Za-z]{32,}$/;
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

/** The tenant and key id of a presented key, from KV, falling back to D1 (KV is eventually consistent). */
export async function lookupKey(env: Pick<Env, "DB" | "CACHE">, key: string): Promise<KeyRef | null> {
  const hash = await hashKey(key);
  const cached = await env.CACHE.get<KeyRef>(keyCacheName(hash), "json");
  if (cached) return cached;
  const row = await env.DB.prepare(
    "SELECT k.id AS keyId, k.tenant_id AS tenantId FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.hash = ? AND k.revoked_at IS NULL AND t.deleted_at IS NULL",
  )
    .bind(hash)
    .first<KeyRef>();
  if (!row) return null;
  await env.CACHE.put(keyCacheName(hash), JSON.stringify(row));
  return row;
}
