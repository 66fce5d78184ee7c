// How long usage lives (README, Retention): raw events 7 days after their flush (in each limiter),
// per-request rows REQUEST_RETENTION_DAYS, hourly rollups 90 days, daily rollups 2 years,
// monthly rollups and the audit log for good.
// Run daily by the Worker's cron trigger.

import { REQUEST_RETENTION_DAYS } from "./requests";

const DAY_MS = 86_400_000;
export const ROLLUP_RETENTION_DAYS = { hour: 90, day: 730 } as const;

export async function purgeExpiredRollups(db: D1Database, now: number): Promise<{ hour: number; day: number }> {
  const cutoff = (days: number) => new Date(now - days * DAY_MS).toISOString();
  const [hour, day] = await db.batch([
    db.prepare("DELETE FROM usage_rollups WHERE granularity = 'hour' AND period_start < ?").bind(cutoff(ROLLUP_RETENTION_DAYS.hour)),
    db.prepare("DELETE FROM usage_rollups WHERE granularity = 'day' AND period_start < ?").bind(cutoff(ROLLUP_RETENTION_DAYS.day)),
    db.prepare("DELETE FROM usage_refusals WHERE granularity = 'hour' AND period_start < ?").bind(cutoff(ROLLUP_RETENTION_DAYS.hour)),
    db.prepare("DELETE FROM usage_refusals WHERE granularity = 'day' AND period_start < ?").bind(cutoff(ROLLUP_RETENTION_DAYS.day)),
    db.prepare("DELETE FROM usage_requests WHERE at < ?").bind(now - REQUEST_RETENTION_DAYS * DAY_MS),
    // Stripe takes no event older than 35 days, so the ledger needs no hour older than that (40 for margin).
    db.prepare("DELETE FROM export_ledger WHERE hour < ?").bind(cutoff(40)),
  ]);
  return { hour: hour?.meta.changes ?? 0, day: day?.meta.changes ?? 0 };
}
