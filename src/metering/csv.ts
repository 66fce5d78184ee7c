// Rollup rows as CSV (RFC 4180 quoting by papaparse), with the tenant's name for finance.
import Papa from "papaparse";
import { INCENTIVE_NAMES } from "../pricing/incentives";
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
  "failed",
  "unsettled",
  "unreported",
  "earlyRetries",
  "units",
  "cost",
  "savings",
  ...INCENTIVE_NAMES.map((name) => `incentive:${name}`),
  "actor",
  "payer",
  "partnerEarnings",
  "refusals",
];

/**
 * Text cells a spreadsheet would run as a formula (CONTRACT §10, OWASP CSV injection): starting
 * with = + - @ tab or CR; a plain decimal such as "-2.5" (negative savings) stays a number.
 */
const FORMULA_START = /^(?:[=+@\t\r]|-(?!\d+(?:\.\d+)?$))/;

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
    r.failed,
    r.unsettled,
    r.unreported,
    r.earlyRetries,
    r.units,
    r.cost,
    r.savings,
    ...INCENTIVE_NAMES.map((name) => r.incentives[name] ?? 0),
    r.actor,
    r.payer,
    r.partnerEarnings,
    Object.entries(r.refusals).map(([code, n]) => `${code}=${n}`).join(";"),
  ]);
  return Papa.unparse({ fields: [...CSV_COLUMNS], data }, { newline: "\r\n", escapeFormulae: FORMULA_START });
}
