import { describe, expect, it } from "vitest";
import { rollUp, type UsageEvent } from "../../src/metering/rollup";

let seq = 0;
const event = (at: string, over: Partial<UsageEvent> = {}): UsageEvent => ({
  seq: ++seq,
  at: Date.parse(at),
  surface: "s",
  outcome: "charged",
  earlyRetry: false,
  units: 1,
  cost: 1000,
  savings: 0,
  incentives: [],
  ...over,
});

describe("rollUp", () => {
  it("puts 23:59:59.999 UTC on the last day of a month in that hour, day and month", () => {
    const rows = rollUp([event("2026-01-31T23:59:59.999Z"), event("2026-02-01T00:00:00.000Z")], "t");
    const starts = rows.map((r) => `${r.granularity} ${r.periodStart}`).sort();
    expect(starts).toEqual([
      "day 2026-01-31T00:00:00.000Z",
      "day 2026-02-01T00:00:00.000Z",
      "hour 2026-01-31T23:00:00.000Z",
      "hour 2026-02-01T00:00:00.000Z",
      "month 2026-01-01T00:00:00.000Z",
      "month 2026-02-01T00:00:00.000Z",
    ]);
  });

  it("counts requests, charges, rejections, early retries, units, cost, savings and incentives", () => {
    const rows = rollUp([
      event("2026-03-01T10:00:00Z", { units: 10, cost: 4500, savings: 5500, incentives: ["idempotency-key", "batch"] }),
      event("2026-03-01T10:30:00Z", { outcome: "rejected", units: 0, cost: 0, earlyRetry: true }),
      event("2026-03-01T11:00:00Z", { outcome: "failed", units: 0, cost: 0 }),
      event("2026-03-01T11:10:00Z", { outcome: "replayed", units: 0, cost: 0 }),
      event("2026-03-01T11:20:00Z", { surface: null, outcome: "rejected", units: 0, cost: 0 }),
    ], "t");
    const day = rows.find((r) => r.granularity === "day" && r.surface === "s")!;
    expect(day).toMatchObject({ requests: 4, charged: 1, rejected: 1, earlyRetries: 1, units: 10, cost: 4500, savings: 5500, incentives: { "idempotency-key": 1, batch: 1, conditional: 0 } });
    expect(rows.find((r) => r.granularity === "month" && r.surface === "(none)")).toMatchObject({ requests: 1, rejected: 1 });
  });

  it("hour, day and month rows agree with each other", () => {
    const events = Array.from({ length: 200 }, (_, i) =>
      event(new Date(Date.UTC(2026, 4, 1) + i * 3_777_000).toISOString(), { units: i % 7, cost: (i % 7) * 333, surface: i % 3 ? "a" : "b" }),
    );
    const rows = rollUp(events, "t");
    for (const surface of ["a", "b"]) {
      const sum = (g: string, field: "units" | "cost" | "requests") => rows.filter((r) => r.surface === surface && r.granularity === g).reduce((n, r) => n + r[field], 0);
      for (const field of ["units", "cost", "requests"] as const) {
        expect(sum("hour", field)).toBe(sum("day", field));
        expect(sum("day", field)).toBe(sum("month", field));
      }
    }
    expect(rows.filter((r) => r.granularity === "month" && r.surface === "a").reduce((n, r) => n + r.requests, 0)).toBe(events.filter((e) => e.surface === "a").length);
  });
});
