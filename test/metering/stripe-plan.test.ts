// The pure export plan (CONTRACT §10, §11): which originals and corrections an export sends, given
// the hour rows now and the ledger of what was sent. Corrections carry the difference under the
// original identifier + `-r<revision>`, to the original's customer and event name; a negative
// difference and a too-old hour are reported, not sent; `again` re-sends every revision.
import fc from "fast-check";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type LedgerEntry, planExport } from "../../src/metering/stripe-export";
import type { RollupRow } from "../../src/metering/usage-rows";
import { formatMoney } from "../../src/pricing/money";

const HOUR = "2026-05-04T10:00:00.000Z";
const NOW = Date.parse("2026-05-04T12:00:00Z");
const ID = "tg_" + "a".repeat(64);

function row(units: number, costMicros: number, over: Partial<RollupRow> = {}): RollupRow {
  return {
    tenant: "t",
    surface: "items",
    actor: "t",
    payer: "t",
    granularity: "hour",
    periodStart: HOUR,
    requests: 1,
    charged: 1,
    rejected: 0,
    failed: 0,
    unsettled: 0,
    unreported: 0,
    earlyRetries: 0,
    shadowRefusals: 0,
    reported: 0,
    units,
    cost: formatMoney(costMicros),
    savings: "0",
    partnerEarnings: "0",
    incentives: {},
    refusals: {},
    ...over,
  };
}

const sent = (revision: number, value: number, over: Partial<LedgerEntry> = {}): LedgerEntry => ({
  payer: "t",
  surface: "items",
  hour: HOUR,
  kind: "units",
  revision,
  value,
  identifier: revision === 0 ? ID : `${ID}-r${revision}`,
  eventName: "tollgate_items",
  customer: "cus_then",
  ...over,
});

const customers = new Map([["t", "cus_now"]]);
const plan = (rows: RollupRow[], ledger: LedgerEntry[], options: Partial<{ kind: "units" | "cost"; again: boolean; now: number }> = {}) =>
  planExport(rows, ledger, customers, { kind: "units", again: false, now: NOW, ...options });

describe("planExport: corrections of exported hours", () => {
  it("sends the difference as revision 1 under the original's identifier, event name and customer", async () => {
    const p = await plan([row(5, 50)], [sent(0, 3)]);
    expect(p.fresh).toEqual([sent(1, 2)]);
    expect(p.fresh[0]!.identifier).toBe(`${ID}-r1`);
    expect(p.fresh[0]!.identifier.length).toBeLessThanOrEqual(100);
    expect([p.resend, p.tooOld, p.negative, p.skippedTenants]).toEqual([[], [], [], []]);
  });

  it("sums the original and every correction sent: the next revision carries only what is still missing", async () => {
    const p = await plan([row(5, 1), row(4, 1, { actor: "partner" })], [sent(0, 3), sent(1, 2), sent(2, 1)]);
    expect(p.fresh).toEqual([sent(3, 3)]);
    expect((await plan([row(6, 1)], [sent(0, 3), sent(1, 2), sent(2, 1)])).fresh).toEqual([]);
  });

  it("corrects the cost meter in micro-units, apart from the units ledger", async () => {
    const p = await plan([row(5, 1_500_000)], [sent(0, 1_000_000, { kind: "cost" })], { kind: "cost" });
    expect(p.fresh).toEqual([sent(1, 500_000, { kind: "cost" })]);
  });

  it("reports a value below what was sent instead of sending it, even when the hour now costs nothing", async () => {
    const p = await plan([row(0, 0)], [sent(0, 3)]);
    expect(p.fresh).toEqual([]);
    expect(p.negative).toEqual([{ payer: "t", surface: "items", hour: HOUR, difference: -3 }]);
    expect((await plan([row(4, 1)], [sent(0, 3), sent(1, 2)])).negative).toEqual([{ payer: "t", surface: "items", hour: HOUR, difference: -1 }]);
  });

  it("reports a correction older than Stripe's 35 days in tooOld, and sends none for an hour still open", async () => {
    const later = Date.parse(HOUR) + 36 * 86_400_000;
    const old = await plan([row(5, 1)], [sent(0, 3)], { now: later });
    expect([old.fresh, old.tooOld]).toEqual([[], [HOUR]]);
    const open = await plan([row(5, 1)], [sent(0, 3)], { now: Date.parse(HOUR) + 1_800_000 });
    expect(open.fresh).toEqual([]);
  });

  it("re-sends originals and corrections with their identifiers under again, and still plans the next revision", async () => {
    const ledger = [sent(1, 2), sent(0, 3)];
    const p = await plan([row(7, 1)], ledger, { again: true });
    expect(p.resend).toEqual([sent(0, 3), sent(1, 2)]);
    expect(p.fresh).toEqual([sent(2, 2)]);
  });

  it("sends an hour never exported as its original, to today's customer", async () => {
    const p = await plan([row(5, 1)], []);
    expect(p.fresh.map((e) => [e.revision, e.value, e.customer])).toEqual([[0, 5, "cus_now"]]);
  });

  it("whatever the order of growth and exports, the events sent for an hour add up to its value", async () => {
    const runs = Number((env as unknown as { FUZZ_RUNS?: string }).FUZZ_RUNS || 50);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ grow: fc.nat(20), exportAfter: fc.boolean() }), { minLength: 1, maxLength: 12 }), async (steps) => {
        const ledger: LedgerEntry[] = [];
        let units = 0;
        for (const step of steps) {
          units += step.grow;
          if (!step.exportAfter) continue;
          const p = await plan([row(units, units)], ledger);
          ledger.push(...p.fresh);
          expect(p.negative).toEqual([]);
        }
        ledger.push(...(await plan([row(units, units)], ledger)).fresh);
        expect(ledger.reduce((sum, e) => sum + e.value, 0)).toBe(units);
        expect(new Set(ledger.map((e) => e.identifier)).size).toBe(ledger.length);
        expect(ledger.every((e) => e.value > 0)).toBe(true);
      }),
      { numRuns: runs },
    );
  });
});
