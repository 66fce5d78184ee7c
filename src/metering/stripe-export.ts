// A month of usage as Stripe Billing meter events (NDJSON): one event per tenant × priced surface,
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
  const sorted = [...rows].sort((a, b) => a.tenant.localeCompare(b.tenant) || a.surface.localeCompare(b.surface));
  for (const row of sorted) {
    const cost = parseMoney(row.cost);
    if (cost <= 0) continue;
    const customer = customers.get(row.tenant);
    if (customer === undefined) {
      skipped.add(row.tenant);
      continue;
    }
    events.push({
      event_name: eventNameOf(row.surface),
      payload: { stripe_customer_id: customer, value: String(value === "cost" ? cost : row.units) },
      identifier: `tg_${(await sha256Hex(`${period}|${row.tenant}|${row.surface}|${value}`)).slice(0, 40)}`,
      timestamp,
    });
  }
  return { events, skippedTenants: [...skipped] };
}

export const toNdjson = (events: StripeMeterEvent[]) => events.map((e) => JSON.stringify(e) + "\n").join("");
