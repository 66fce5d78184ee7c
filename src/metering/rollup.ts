// Usage events folded into rollup rows (CONTRACT §5): hour, day and month rows per surface.
// Pure: the limiter hands its unflushed events in, the flush writes the result.
import { periodBounds } from "../limiter/quota-period";

export const GRANULARITIES = ["hour", "day", "month"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const INCENTIVE_COLUMNS = {
  "idempotency-key": "incentive_idempotency_key",
  batch: "incentive_batch",
  conditional: "incentive_conditional",
} as const;
export type IncentiveName = keyof typeof INCENTIVE_COLUMNS;

export interface UsageEvent {
  seq: number;
  at: number; // ms
  surface: string | null;
  outcome: "charged" | "rejected" | "failed" | "replayed";
  earlyRetry: boolean;
  units: number;
  cost: number; // micro-units
  savings: number; // micro-units
  incentives: string[];
}

export interface RollupDelta {
  surface: string;
  granularity: Granularity;
  periodStart: string;
  requests: number;
  charged: number;
  rejected: number;
  earlyRetries: number;
  units: number;
  cost: number;
  savings: number;
  incentives: Record<IncentiveName, number>;
}

/** Surface of a request no route matched, so that `requests` still counts it. */
export const NO_SURFACE = "(none)";

export function rollUp(events: UsageEvent[]): RollupDelta[] {
  const rows = new Map<string, RollupDelta>();
  for (const e of events) {
    const surface = e.surface ?? NO_SURFACE;
    for (const granularity of GRANULARITIES) {
      const periodStart = new Date(periodBounds(granularity, e.at).start).toISOString();
      const id = `${surface}\u0000${granularity}\u0000${periodStart}`;
      let row = rows.get(id);
      if (!row) {
        row = { surface, granularity, periodStart, requests: 0, charged: 0, rejected: 0, earlyRetries: 0, units: 0, cost: 0, savings: 0, incentives: { "idempotency-key": 0, batch: 0, conditional: 0 } };
        rows.set(id, row);
      }
      row.requests++;
      if (e.outcome === "charged") {
        row.charged++;
        row.units += e.units;
        row.cost += e.cost;
        row.savings += e.savings;
        for (const name of e.incentives) if (name in row.incentives) row.incentives[name as IncentiveName]++;
      }
      if (e.outcome === "rejected") row.rejected++;
      if (e.earlyRetry) row.earlyRetries++;
    }
  }
  return [...rows.values()];
}
