// Usage answers include every request answered before them (CONTRACT §5): the tenants' limiters
// flush their unflushed events to D1 before the rollups are read.
import { limiterOf } from "../limiter/stub";

const PARALLEL_FLUSHES = 10;

/** Flushes one tenant, or every tenant ever created (deleted ones keep their usage). */
export async function flushUsage(env: Pick<Env, "DB" | "LIMITER">, tenant?: string): Promise<void> {
  const ids =
    tenant !== undefined
      ? [tenant]
      : (await env.DB.prepare("SELECT id FROM tenants ORDER BY id").all<{ id: string }>()).results.map((r) => r.id);
  for (let i = 0; i < ids.length; i += PARALLEL_FLUSHES) {
    await Promise.all(ids.slice(i, i + PARALLEL_FLUSHES).map((id) => limiterOf(env, id).flush()));
  }
}
