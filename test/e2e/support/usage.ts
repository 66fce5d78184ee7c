// Sums of rollup rows computed here, independently of the pages' own code, to compare with what they show.
export interface UsageRow {
  surface: string;
  periodStart: string;
  requests: number;
  charged: number;
  rejected: number;
  earlyRetries: number;
  units: number;
  cost: string;
  savings: string;
  incentives: Record<string, number>;
  refusals?: Record<string, number>;
}

const micros = (decimal: string) => Math.round(Number(decimal) * 1e6);
const decimal = (m: number) => (m / 1e6).toFixed(6).replace(/\.?0+$/, "") || "0";

export interface Totals {
  requests: string;
  charged: string;
  rejected: string;
  earlyRetries: string;
  units: string;
  cost: string;
  savings: string;
}

/** The totals as the pages should show them (strings), over rows of one surface or all. */
export function totalsOf(rows: UsageRow[]): Totals {
  const sum = (f: "requests" | "charged" | "rejected" | "earlyRetries" | "units") => String(rows.reduce((n, r) => n + r[f], 0));
  return {
    requests: sum("requests"),
    charged: sum("charged"),
    rejected: sum("rejected"),
    earlyRetries: sum("earlyRetries"),
    units: sum("units"),
    cost: decimal(rows.reduce((n, r) => n + micros(r.cost), 0)),
    savings: decimal(rows.reduce((n, r) => n + micros(r.savings), 0)),
  };
}

/** name → count summed over rows, of `incentives` or `refusals`. */
export function countsOf(rows: UsageRow[], field: "incentives" | "refusals"): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) for (const [k, n] of Object.entries(r[field] ?? {})) out[k] = (out[k] ?? 0) + n;
  return out;
}

/** Sends traffic as `key`: events, a 3-record write with an Idempotency-Key (an incentive), and refusals. */
export async function sendTraffic(url: string, key: string): Promise<void> {
  const auth = { Authorization: `Bearer ${key}` };
  const drain = async (res: Promise<Response>) => (await res).arrayBuffer();
  for (let i = 0; i < 3; i++) await drain(fetch(`${url}/v1/events?events=2`, { headers: auth }));
  await drain(
    fetch(`${url}/v1/records`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json", "Idempotency-Key": `ui-${Math.random().toString(36).slice(2)}` },
      body: JSON.stringify({ records: [{ id: 1 }, { id: 2 }, { id: 3 }] }),
    }),
  );
  await drain(fetch(`${url}/v1/exports`, { method: "POST", headers: auth })); // premium-required without the add-on
  await drain(fetch(`${url}/v1/partners/p1/ping`, { headers: auth })); // surface-prohibited: not in the growth plan
  for (let i = 0; i < 3; i++) await drain(fetch(`${url}/v1/admin/touch`, { method: "POST", headers: auth })); // 1/s: rate-limited
}
