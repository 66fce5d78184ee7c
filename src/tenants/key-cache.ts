// Key-hash → tenant lookups cached per isolate. Safe to cache: a key's tenant never changes, and
// revocation, expiry and suspension are checked by the tenant's limiter on every request.
import type { KeyRef } from "./keys";

const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;
const entries = new Map<string, { ref: KeyRef; until: number }>();

export function cachedKey(hash: string, now: number): KeyRef | null {
  const hit = entries.get(hash);
  if (!hit) return null;
  if (hit.until <= now) {
    entries.delete(hash);
    return null;
  }
  return hit.ref;
}

export function cacheKey(hash: string, ref: KeyRef, now: number): void {
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!); // oldest first
  entries.set(hash, { ref, until: now + TTL_MS });
}
