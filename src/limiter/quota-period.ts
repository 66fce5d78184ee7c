// Calendar quota periods in UTC (CONTRACT §2 Quota): hour, day, week from Monday, month.
import type { QuotaPeriod } from "../catalog/schema";

export interface PeriodBounds {
  start: number; // ms, inclusive
  end: number; // ms, exclusive
}

/** Nominal lengths used for the `w` parameter of RateLimit-Policy (a month is 30 days). */
export const nominalSeconds: Record<QuotaPeriod, number> = {
  hour: 3_600,
  day: 86_400,
  week: 604_800,
  month: 2_592_000,
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function periodBounds(period: QuotaPeriod, now: number): PeriodBounds {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (period) {
    case "hour": {
      const start = Math.floor(now / HOUR) * HOUR;
      return { start, end: start + HOUR };
    }
    case "day": {
      const start = Date.UTC(y, m, d.getUTCDate());
      return { start, end: start + DAY };
    }
    case "week": {
      const sinceMonday = (d.getUTCDay() + 6) % 7; // getUTCDay: Sunday = 0
      const start = Date.UTC(y, m, d.getUTCDate() - sinceMonday);
      return { start, end: start + 7 * DAY };
    }
    case "month":
      return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
  }
}

/** Whole seconds from `now` to the end of its period, rounded up (at least 1). */
export function secondsToPeriodEnd(period: QuotaPeriod, now: number): number {
  return Math.max(1, Math.ceil((periodBounds(period, now).end - now) / 1000));
}
