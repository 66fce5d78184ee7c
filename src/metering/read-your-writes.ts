// Usage answers include every request answered before them (CONTRACT §5): the tenants' limiters
// flush their unflushed events to D1 before the rollups are read.
import { limiterOf } from "../limiter/stub";

const PARALLEL_FLUSHES = 10;

/**
 * Flushes one tenant, or every tenant ever created (deleted ones keep their usage). A tenant's
 * usage includes calls made on its behalf, and a partner's calls for others live in its customers'
 * limiters: `withCustomers` flushes the customers its grants ever named too (CONTRACT §7).
 */
export async function flushUsage(env: Pick<Env, "DB" | "LIMITER">, tenant?: string, options: { withCustomers?: boolean } = {}): Promise<void> {
  const ids =
    tenant !== undefined
      ? [tenant, ...(options.withCustomers ? (await env.DB.prepare("SELECT DISTINCT customer FROM grants WHERE partner = ?").bind(tenant).all<{ customer: string }>()).results.map((r) => r.customer) : [])]
      : (await env.DB.prepare("SELECT id FROM tenants ORDER BY id").all<{ id: string }>()).results.map((r) => r.id);
  for (let i = 0; i < ids.length; i += PARALLEL_FLUSHES) {
    await Promise.all(ids.slice(i, i + PARALLEL_FLUSHES).map((id) => limiterOf(env, id).flush()));
  }
}
