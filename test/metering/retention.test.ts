import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { describe, expect, it } from "vitest";

const insert = (granularity: string, periodStart: string) =>
  env.DB.prepare("INSERT INTO usage_rollups (tenant, surface, granularity, period_start, actor, payer, requests) VALUES ('ret', 's', ?, ?, 'ret', 'ret', 1)").bind(granularity, periodStart).run();

describe("rollup retention", () => {
  it("the daily job keeps 90 days of hours, 2 years of days and every month", async () => {
    const now = Date.parse("2026-11-24T03:23:00Z");
    await insert("hour", "2026-08-25T00:00:00.000Z"); // 91 days old: purged
    await insert("hour", "2026-08-27T00:00:00.000Z"); // kept
    await insert("day", "2024-11-23T00:00:00.000Z"); // > 730 days: purged
    await insert("day", "2024-11-25T00:00:00.000Z"); // kept
    await insert("month", "2015-01-01T00:00:00.000Z"); // kept
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: "23 3 * * *" }), env);
    const { results } = await env.DB.prepare("SELECT granularity, period_start FROM usage_rollups WHERE tenant = 'ret' ORDER BY granularity, period_start").all();
    expect(results).toEqual([
      { granularity: "day", period_start: "2024-11-25T00:00:00.000Z" },
      { granularity: "hour", period_start: "2026-08-27T00:00:00.000Z" },
      { granularity: "month", period_start: "2015-01-01T00:00:00.000Z" },
    ]);
  });
});
