// Usage events folded into rollup rows (CONTRACT §5): hour, day and month rows per surface.
// Pure: the limiter hands its unflushed events in, the flush writes the result.
import { periodBounds } from "../limiter/quota-period";
import { HOUR_MS } from "../limiter/usage-log";
import { INCENTIVE_NAMES, type IncentiveName } from "../pricing/incentives";
import { divideHalfEven } from "../pricing/rounding";
import type { Attribution } from "../limiter/protocol";

export type { IncentiveName };

export const GRANULARITIES = ["hour", "day", "month"] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** The D1 column of each incentive's count: incentive_idempotency_key, incentive_batch, … */
export const INCENTIVE_COLUMNS = Object.fromEntries(INCENTIVE_NAMES.map((name) => [name, `incentive_${name.replaceAll("-", "_")}`])) as Record<IncentiveName, string>;

const noIncentives = (): Record<IncentiveName, number> => Object.fromEntries(INCENTIVE_NAMES.map((name) => [name, 0])) as Record<IncentiveName, number>;

/**
 * What became of a request: `charged`; `rejected` by Tollgate; `failed` by the origin; `replayed`
 * from an idempotency record; `unsettled` (settled by the limiter at its lease's end, CONTRACT §6).
 * Two outcomes correct an earlier event of the same request and count no new request: `voided`
 * (a charged response whose body the origin broke off: the charge is taken back) and `late` (the
 * units measured from the response of an `unsettled` admission, arriving after its lease).
 * `recharged` follows a `voided` of the same request to charge it anew (response-bytes charged by
 * the bytes streamed when they differ from Content-Length). `unreported` counts leased permits
 * whose holder never reported them (weight = permits; negative when a late report clears them).
 */
export type UsageOutcome = "charged" | "rejected" | "failed" | "replayed" | "unsettled" | "voided" | "recharged" | "late" | "unreported" | "reported";

export interface UsageEvent {
  seq: number;
  at: number; // ms
  surface: string | null;
  outcome: UsageOutcome;
  earlyRetry: boolean;
  units: number;
  cost: number; // micro-units
  savings: number; // micro-units
  incentives: string[];
  /** How many requests this event stands for (refusals before admission are written in aggregate); default 1. */
  weight?: number;
  /** The problem code of a `rejected` event. */
  reason?: string | null;
  /** A delegated call (CONTRACT §7); absent: the tenant's own. */
  attribution?: Attribution;
  /** The request it belongs to ("" for aggregates: leased requests, refusals before admission). */
  requestId?: string;
  status?: number;
  signals?: number;
  /** A reported outcome's originating request (CONTRACT §11), when the report named one. */
  origin?: string;
  catalogVersion?: number | null;
  /** The limits a shadow rule would have refused the request for (issue 12). */
  shadow?: string[];
}

/**
 * The actor's (a partner's) part of a charge the customer pays: cost × share, rounded half-even
 * per event to a micro-unit — the same rounding whichever sign the event has, so a voided charge
 * takes back exactly what it earned.
 */
export function earningsOf(cost: number, sharePpm: number): number {
  if (sharePpm === 0 || cost === 0) return 0;
  const magnitude = Number(divideHalfEven(BigInt(Math.abs(cost)) * BigInt(sharePpm), 1_000_000n));
  return cost < 0 ? -magnitude : magnitude;
}

export interface RollupDelta {
  surface: string;
  /** Who made the calls and who pays for them (both the tenant itself for its own calls). */
  actor: string;
  payer: string;
  granularity: Granularity;
  periodStart: string;
  requests: number;
  charged: number;
  rejected: number;
  failed: number;
  unsettled: number;
  unreported: number;
  earlyRetries: number;
  units: number;
  cost: number;
  savings: number;
  incentives: Record<IncentiveName, number>;
  /** Tollgate's refusals by problem code. */
  refusals: Record<string, number>;
  /** The actor's share of `cost` (payer the customer, a grant with a share), micro-units. */
  earnings: number;
  /** Requests a shadow rule forwarded although a limit would have refused them (issue 12). */
  shadowRefusals: number;
  /** Units that arrived by report (CONTRACT §11), in the hour of their time. */
  reported: number;
}

/** The code a refusal recorded without one is counted under. */
export const UNKNOWN_REFUSAL = "unknown";

/** Surface of a request no route matched, so that `requests` still counts it. */
export const NO_SURFACE = "(none)";

/** `tenant` is the limiter's tenant: the actor and payer of its own calls. */
export function rollUp(events: UsageEvent[], tenant: string): RollupDelta[] {
  const rows = new Map<string, RollupDelta>();
  // Events of one hour share their hour, day and month: each hour's period starts are formatted once.
  const startsByHour = new Map<number, string[]>();
  for (const e of events) {
    const surface = e.surface ?? NO_SURFACE;
    const actor = e.attribution?.actor ?? tenant;
    const payer = e.attribution?.payer ?? tenant;
    const hour = Math.floor(e.at / HOUR_MS);
    let starts = startsByHour.get(hour);
    if (!starts) startsByHour.set(hour, (starts = GRANULARITIES.map((granularity) => new Date(periodBounds(granularity, e.at).start).toISOString())));
    for (const [g, granularity] of GRANULARITIES.entries()) {
      const periodStart = starts[g]!;
      const id = `${surface}\u0000${granularity}\u0000${periodStart}\u0000${actor}\u0000${payer}`;
      let row = rows.get(id);
      if (!row) {
        row = { surface, actor, payer, earnings: 0, shadowRefusals: 0, reported: 0, granularity, periodStart, requests: 0, charged: 0, rejected: 0, failed: 0, unsettled: 0, unreported: 0, earlyRetries: 0, units: 0, cost: 0, savings: 0, incentives: noIncentives(), refusals: {} };
        rows.set(id, row);
      }
      apply(row, e);
    }
  }
  return [...rows.values()];
}

/** How one event moves a rollup row; `voided` and `late` correct an earlier event of their request. */
function apply(row: RollupDelta, e: UsageEvent): void {
  const weight = e.weight ?? 1;
  const sign = e.outcome === "voided" ? -1 : 1;
  const money = () => {
    row.units += sign * e.units;
    row.cost += sign * e.cost;
    // Only a customer-paid delegated call earns its actor a share (payer ≠ actor).
    if (e.attribution && e.attribution.payer !== e.attribution.actor) row.earnings += sign * earningsOf(e.cost, e.attribution.sharePpm);
    row.savings += sign * e.savings;
    for (const name of e.incentives) if (name in row.incentives) row.incentives[name as IncentiveName] += sign * weight;
  };
  switch (e.outcome) {
    case "charged":
    case "unsettled":
      row.requests += weight;
      row.charged += weight;
      if (e.outcome === "unsettled") row.unsettled += weight;
      money();
      break;
    case "rejected": {
      row.requests += weight;
      row.rejected += weight;
      const code = e.reason || UNKNOWN_REFUSAL;
      row.refusals[code] = (row.refusals[code] ?? 0) + weight;
      break;
    }
    case "failed":
      row.requests += weight;
      row.failed += weight;
      break;
    case "replayed":
      row.requests += weight;
      break;
    case "voided":
      row.charged -= 1;
      row.failed += 1;
      money();
      break;
    case "recharged":
      row.charged += 1;
      row.failed -= 1;
      money();
      break;
    case "unreported":
      row.unreported += weight;
      break;
    case "late":
      row.unsettled -= 1;
      money();
      break;
    case "reported":
      // Units of a request answered before, arriving by report: no new request, only its units
      // and money (its incentives were counted with the request).
      row.reported += e.units;
      row.units += e.units;
      row.cost += e.cost;
      row.savings += e.savings;
      if (e.attribution && e.attribution.payer !== e.attribution.actor) row.earnings += earningsOf(e.cost, e.attribution.sharePpm);
      break;
  }
  if (e.earlyRetry) row.earlyRetries += weight;
  // Counted once per request: on the event that first records it, never on a correction.
  if (e.shadow && e.shadow.length > 0 && (e.outcome === "charged" || e.outcome === "unsettled" || e.outcome === "failed")) row.shadowRefusals += weight;
}
