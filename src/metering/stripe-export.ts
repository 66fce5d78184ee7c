// A month of usage as Stripe Billing meter events (NDJSON): one event per paying tenant × priced
// surface (a partner paying for its calls on behalf of customers is billed for them, CONTRACT §7),
// with a deterministic identifier so that sending the same export twice is deduplicated by Stripe.
import { sha256Hex } from "../crypto";
import type { RollupRow } from "./usage-rows";
import { parseMoney } from "../pricing/money";

export interface StripeMeterEvent {
  event_name: string;
  payload: { stripe_customer_id: string; value: string };
  identifier: string;
  timestamp: number;
}

export type ExportValue = "units" | "cost";

export const eventNameOf = (surface: string) => `tollgate_${surface.replace(/[^A-Za-z0-9]/g, "_")}`;

/**
 * `rows` are the month rows of `period` (YYYY-MM). Tenants without `billing.stripeCustomerId`
 * and surfaces that cost nothing are left out. `value` is the units charged, or with
 * `value: "cost"` the cost in micro-units (bill it with a Stripe price of 0.000001 per unit to
 * carry Tollgate's incentives into the invoice).
 */
export async function stripeMeterEvents(
  rows: RollupRow[],
  customers: Map<string, string>,
  period: string,
  value: ExportValue,
): Promise<{ events: StripeMeterEvent[]; skippedTenants: string[] }> {
  const timestamp = Math.floor(Date.parse(`${period}-01T00:00:00Z`) / 1000);
  const events: StripeMeterEvent[] = [];
  const skipped = new Set<string>();
  // Rows split by actor and payer; the payer is the one billed.
  const billed = new Map<string, { payer: string; surface: string; units: number; cost: number }>();
  for (const row of rows) {
    const key = `${row.payer}\u0000${row.surface}`;
    const line = billed.get(key) ?? { payer: row.payer, surface: row.surface, units: 0, cost: 0 };
    line.units += row.units;
    line.cost += parseMoney(row.cost);
    billed.set(key, line);
  }
  const sorted = [...billed.values()].sort((a, b) => a.payer.localeCompare(b.payer) || a.surface.localeCompare(b.surface));
  for (const line of sorted) {
    if (line.cost <= 0) continue;
    const customer = customers.get(line.payer);
    if (customer === undefined) {
      skipped.add(line.payer);
      continue;
    }
    events.push({
      event_name: eventNameOf(line.surface),
      payload: { stripe_customer_id: customer, value: String(value === "cost" ? line.cost : line.units) },
      identifier: `tg_${(await sha256Hex(`${period}|${line.payer}|${line.surface}|${value}`)).slice(0, 40)}`,
      timestamp,
    });
  }
  return { events, skippedTenants: [...skipped] };
}

export const toNdjson = (events: StripeMeterEvent[]) => events.map((e) => JSON.stringify(e) + "\n").join("");
