// The tenant's limiter stub, importable from every side (gateway, admin, metering) without a loop.
import type { TenantLimiter } from "./tenant-limiter";

export function limiterOf(env: Pick<Env, "LIMITER">, tenantId: string): DurableObjectStub<TenantLimiter> {
  return (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(tenantId);
}
