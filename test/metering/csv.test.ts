// CSV export cells (CONTRACT §10 CSV bullet): formula-like text is escaped, money stays numeric.
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { rollupCsv } from "../../src/metering/csv";
import type { RollupRow } from "../../src/metering/usage-rows";

const row = (over: Partial<RollupRow>): RollupRow => ({
  tenant: "acme",
  surface: "items",
  granularity: "month",
  periodStart: "2026-03-01T00:00:00.000Z",
  requests: 1,
  charged: 1,
  rejected: 0,
  failed: 0,
  unsettled: 0,
  unreported: 0,
  earlyRetries: 0,
  units: 1,
  cost: "0.5",
  savings: "0",
  incentives: {},
  refusals: {},
  actor: "acme",
  payer: "acme",
  partnerEarnings: "0",
  shadowRefusals: 0,
  reported: 0,
  ...over,
});

const cellsOf = (csv: string) => Papa.parse<Record<string, string>>(csv.trim(), { header: true }).data;

describe("rollupCsv", () => {
  // Surface and tenant ids cannot start with these today (schema), so this guards the writer itself.
  it.each(["=", "+", "-", "@", "\t", "\r"])("escapes text cells starting with %j", (start) => {
    const [cells] = cellsOf(rollupCsv([row({ tenant: `${start}t`, surface: `${start}cmd` })], new Map([[`${start}t`, `${start}name`]])));
    expect(cells).toMatchObject({ tenant: `'${start}t`, tenantName: `'${start}name`, surface: `'${start}cmd` });
  });

  it.each(["-2.5", "-0.000001", "-12", "0", "3.25"])("keeps the money cell %s a plain number", (savings) => {
    const csv = rollupCsv([row({ savings })], new Map());
    expect(cellsOf(csv)[0]!.savings).toBe(savings);
    expect(csv.split("\r\n")[1]!.split(",")).toContain(savings);
  });

  it.each(["-", "-1+2", "-2.5e3", "-.5", "-2.5\r", "-1,2"])("escapes %j, which only looks like a number at its start", (name) => {
    expect(cellsOf(rollupCsv([row({})], new Map([["acme", name]])))[0]!.tenantName).toBe(`'${name}`);
  });
});
