// `tollgate statements`: the default period and the exact, integer check that the books balance.
import { describe, expect, test } from "vitest";
import { currentPeriod, imbalances, micros, periodFlag } from "../../cli/statements";
import { BadFlag } from "../../cli/tenant-patch";

describe("period", () => {
  test("the current month in UTC, whatever the local time", () => {
    expect(currentPeriod(new Date("2026-11-30T23:59:59.999Z"))).toBe("2026-11");
    expect(currentPeriod(new Date("2026-12-01T00:00:00+01:00"))).toBe("2026-11");
  });

  test("--period must be YYYY-MM", () => {
    expect(periodFlag("2026-01")).toBe("2026-01");
    for (const bad of ["2026-13", "2026-00", "2026-1", "november", "2026-11-01"]) expect(() => periodFlag(bad)).toThrow(BadFlag);
  });
});

describe("balance", () => {
  const item = (tenant: string, charges: string, partnerEarnings: string, platformNet: string) => ({ tenant, period: "2026-11", charges, partnerEarnings, platformNet });

  test("micro-units exactly, where floats would not add up", () => {
    expect(micros("0.000001")).toBe(1n);
    expect(micros("-2.5")).toBe(-2_500_000n);
    // 0.1 + 0.2 ≠ 0.3 in floats; in micro-units it is exact.
    const answer = { items: [item("acme", "0.3", "0", "0.1"), item("appco", "0", "0.2", "0")], totals: { charges: "0.3", partnerEarnings: "0.2", platformNet: "0.1" } };
    expect(imbalances(answer)).toEqual([]);
  });

  test("totals that are not the sums, and books that do not balance, are named", () => {
    const unbalanced = { items: [item("acme", "1", "0", "0.9"), item("appco", "0", "0.2", "0")], totals: { charges: "1", partnerEarnings: "0.2", platformNet: "0.9" } };
    expect(imbalances(unbalanced)).toEqual(["charges 1 ≠ partner earnings 0.2 + platform net 0.9"]);
    const wrongTotal = { items: [item("acme", "1", "0", "1")], totals: { charges: "1.000001", partnerEarnings: "0", platformNet: "1" } };
    expect(imbalances(wrongTotal)).toEqual(["totals.charges is 1.000001 but the statements sum to 1"]);
  });
});
