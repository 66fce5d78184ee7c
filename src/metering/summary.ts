// The current month's usage per tenant in KV, for reads that need no D1 query (dashboards,
// the tenant's usage answer). Rewritten by the limiter after each flush; it may lag by the
// flush delay plus KV propagation, so it is labelled with when it was written.
import { periodBounds } from "../limiter/quota-period";
import { queryRollups, type RollupRow } from "./usage-rows";

export interface UsageSummary {
  tenant: string;
  period: string; // YYYY-MM
  writtenAt: string;
  surfaces: RollupRow[];
}

export const summaryKey = (tenant: string, period: string) => `usage:${tenant}:${period}`;

export async function writeUsageSummary(env: Pick<Env, "DB" | "CACHE">, tenant: string, now: number): Promise<void> {
  const bounds = periodBounds("month", now);
  const month = new Date(bounds.start).toISOString();
  const surfaces = await queryRollups(env.DB, { tenant, granularity: "month", from: month, to: new Date(bounds.end).toISOString() });
  const period = month.slice(0, 7);
  const summary: UsageSummary = { tenant, period, writtenAt: new Date(now).toISOString(), surfaces };
  await env.CACHE.put(summaryKey(tenant, period), JSON.stringify(summary), { expirationTtl: 400 * 24 * 3600 });
}

export async function readUsageSummary(kv: KVNamespace, tenant: string, now: number): Promise<UsageSummary | null> {
  const period = new Date(periodBounds("month", now).start).toISOString().slice(0, 7);
  return kv.get<UsageSummary>(summaryKey(tenant, period), "json");
}
