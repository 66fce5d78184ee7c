// Flushed usage events become hourly aggregates (CONTRACT §6). A flush sums the events it has
// already read (compactEvents) instead of grouping them in SQL (compactThrough); both must leave the
// same usage_history and no event through the watermark, for any events and any earlier history.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import { compactEvents, compactThrough, EVENT_COLUMNS, eventOf, recordEvents, type EventRow, type NewEvent } from "../../src/limiter/usage-log";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 26, 10);

const event: fc.Arbitrary<NewEvent> = fc.record(
  {
    at: fc.integer({ min: T0, max: T0 + 3 * HOUR }),
    requestId: fc.uuid(),
    surface: fc.constantFrom("a", "b", null),
    status: fc.constantFrom(0, 200, 429, 502),
    outcome: fc.constantFrom("charged", "rejected", "failed", "unsettled", "voided", "reported", "unreported"),
    reason: fc.constantFrom("quota-exhausted", "rate-limited"),
    earlyRetry: fc.boolean(),
    units: fc.integer({ min: -5, max: 1_000 }),
    cost: fc.integer({ min: -5_000, max: 1_000_000 }),
    savings: fc.integer({ min: 0, max: 1_000 }),
    incentives: fc.subarray(["batch", "conditional", "idempotency-key"]),
    catalogVersion: fc.constantFrom(1, 2),
    weight: fc.integer({ min: -3, max: 3 }),
    attribution: fc.option(fc.record({ actor: fc.constantFrom("p1", "p2"), payer: fc.constantFrom("c", "p1"), sharePpm: fc.constantFrom(0, 250_000) }), { nil: undefined }),
  },
  { requiredKeys: ["at", "requestId", "surface", "status", "outcome"] },
);

const history = (sql: SqlStorage) => sql.exec("SELECT * FROM usage_history ORDER BY hour, surface, outcome, reason, status, early_retry, incentives, catalog_version, actor, payer, share_ppm").toArray();

describe("compacting flushed events", () => {
  it("summing the rows a flush read leaves the same history as grouping them in SQL", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 30 }), fc.array(event, { minLength: 1, maxLength: 60 }), fc.nat(), async (before, batch, cut) => {
        const results: unknown[] = [];
        for (const how of ["sql", "rows"] as const) {
          const stub = (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(`compaction-${run}-${how}`);
          results.push(
            await runInDurableObject(stub, (_: TenantLimiter, state) => {
              const sql = state.storage.sql;
              // An earlier flush's history, then the events this one read; the watermark may stop short of them all.
              recordEvents(sql, before);
              compactThrough(sql, Number.MAX_SAFE_INTEGER);
              recordEvents(sql, batch);
              const rows = sql.exec<EventRow>(`SELECT ${EVENT_COLUMNS} FROM usage_events ORDER BY seq`).toArray();
              const watermark = rows[cut % rows.length]!.seq;
              if (how === "sql") compactThrough(sql, watermark);
              else compactEvents(sql, rows.map(eventOf), watermark);
              return { history: history(sql), left: sql.exec("SELECT seq FROM usage_events ORDER BY seq").toArray() };
            }),
          );
        }
        run++;
        expect(results[1]).toEqual(results[0]);
      }),
      { numRuns: 40 },
    );
  });
});
