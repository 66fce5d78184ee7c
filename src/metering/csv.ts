// Rollup rows as CSV (RFC 4180 quoting by papaparse), with the tenant's name for finance.
import Papa from "papaparse";
import type { RollupRow } from "./usage-rows";

export const CSV_COLUMNS = [
  "tenant",
  "tenantName",
  "surface",
  "granularity",
  "periodStart",
  "requests",
  "charged",
  "rejected",
  "earlyRetries",
  "units",
  "cost",
  "savings",
  "incentive:idempotency-key",
  "incentive:batch",
  "incentive:conditional",
] as const;

export function rollupCsv(rows: RollupRow[], names: Map<string, string | null>): string {
  const data = rows.map((r) => [
    r.tenant,
    names.get(r.tenant) ?? "",
    r.surface,
    r.granularity,
    r.periodStart,
    r.requests,
    r.charged,
    r.rejected,
    r.earlyRetries,
    r.units,
    r.cost,
    r.savings,
    r.incentives["idempotency-key"] ?? 0,
    r.incentives.batch ?? 0,
    r.incentives.conditional ?? 0,
  ]);
  // Text cells starting with = + @ tab or CR are escaped so spreadsheets never run them as
  // formulas; "-" is left alone so that negative savings stay numbers.
  return Papa.unparse({ fields: [...CSV_COLUMNS], data }, { newline: "\r\n", escapeFormulae: /^[=+@\t\r]/ });
}
