import { describe, expect, it } from "vitest";
import { periodBounds, secondsToPeriodEnd } from "../../src/limiter/quota-period";

const iso = (ms: number) => new Date(ms).toISOString();
const bounds = (period: Parameters<typeof periodBounds>[0], at: string) => {
  const b = periodBounds(period, Date.parse(at));
  return [iso(b.start), iso(b.end)];
};

describe("calendar quota periods in UTC", () => {
  it("hour and day boundaries", () => {
    expect(bounds("hour", "2026-03-10T13:59:59.999Z")).toEqual(["2026-03-10T13:00:00.000Z", "2026-03-10T14:00:00.000Z"]);
    expect(bounds("hour", "2026-03-10T14:00:00.000Z")).toEqual(["2026-03-10T14:00:00.000Z", "2026-03-10T15:00:00.000Z"]);
    expect(bounds("day", "2026-03-10T23:59:59.999Z")).toEqual(["2026-03-10T00:00:00.000Z", "2026-03-11T00:00:00.000Z"]);
    expect(bounds("day", "2026-03-11T00:00:00.000Z")).toEqual(["2026-03-11T00:00:00.000Z", "2026-03-12T00:00:00.000Z"]);
  });

  it("weeks start on Monday", () => {
    // 2026-11-22 is a Sunday, 2026-11-23 a Monday.
    expect(bounds("week", "2026-11-22T23:59:59.999Z")).toEqual(["2026-11-16T00:00:00.000Z", "2026-11-23T00:00:00.000Z"]);
    expect(bounds("week", "2026-11-23T00:00:00.000Z")).toEqual(["2026-11-23T00:00:00.000Z", "2026-11-30T00:00:00.000Z"]);
    expect(bounds("week", "2026-12-31T12:00:00.000Z")).toEqual(["2026-12-28T00:00:00.000Z", "2027-01-04T00:00:00.000Z"]);
  });

  it.each([
    ["2026-02-15T00:00:00Z", "2026-02-01", "2026-03-01", 28],
    ["2028-02-29T23:59:59.999Z", "2028-02-01", "2028-03-01", 29],
    ["2026-04-30T23:59:59.999Z", "2026-04-01", "2026-05-01", 30],
    ["2026-12-31T23:59:59.999Z", "2026-12-01", "2027-01-01", 31],
  ])("month containing %s runs %s to %s (%i days)", (at, start, end, days) => {
    const b = periodBounds("month", Date.parse(at));
    expect([iso(b.start), iso(b.end)]).toEqual([`${start}T00:00:00.000Z`, `${end}T00:00:00.000Z`]);
    expect((b.end - b.start) / 86_400_000).toBe(days);
  });

  it("counts whole seconds to the period end, rounding up", () => {
    expect(secondsToPeriodEnd("day", Date.parse("2026-03-10T23:59:59.001Z"))).toBe(1);
    expect(secondsToPeriodEnd("day", Date.parse("2026-03-10T23:59:58.500Z"))).toBe(2);
    expect(secondsToPeriodEnd("hour", Date.parse("2026-03-10T13:00:00.000Z"))).toBe(3600);
  });
});
