// Key → tenant lookups cached per isolate, by the presented key (held only in this isolate's
// memory, like the request that carried it), so a hot key is neither hashed nor looked up again.
// Safe to cache: a key's tenant never changes, and revocation, expiry and suspension are checked
// by the tenant's limiter on every request.
import type { KeyRef } from "./keys";

const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;
const entries = new Map<string, { ref: KeyRef; until: number }>();

export function cachedKey(key: string, now: number): KeyRef | null {
  const hit = entries.get(key);
  if (!hit) return null;
  if (hit.until <= now) {
    entries.delete(key);
    return null;
  }
  return hit.ref;
}

export function cacheKey(key: string, ref: KeyRef, now: number): void {
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!); // oldest first
  entries.set(key, { ref, until: now + TTL_MS });
}
