// The limiter's flush of its usage events to the D1 rollups and per-request rows (CONTRACT §5,
// §6), exactly once (metering/flush.ts), then their compaction into hourly aggregates; and the
// tenant's KV usage summary, rewritten by the alarm's flushes about once a minute and by every
// flush a usage read asks for.
import { flushToD1 } from "../metering/flush";
import { requestDeltas } from "../metering/requests";
import { rollUp } from "../metering/rollup";
import { writeUsageSummary } from "../metering/summary";
import type { LimiterStorage } from "./atomic";
import { compactEvents, compactThrough, EVENT_COLUMNS, eventOf, flushedThrough, type EventRow } from "./usage-log";

/** Usage events are flushed to the D1 rollups this long after they are recorded (at most). */
export const FLUSH_DELAY_MS = 5_000;
/**
 * The tenant's KV usage summary is rewritten about this often (± a quarter) by the limiter's own
 * flushes (a D1 query and a KV write each, issue 15: with many quiet tenants they cost more than
 * the flushes), and by every flush a usage read asks for.
 */
export const SUMMARY_EVERY_MS = 60_000;
const FLUSH_BATCH = 500;

export type SummaryWhen = "always" | "when-due";

export class UsageFlusher {
  /** The flush under way, if any (see flush). */
  private flushing: Promise<unknown> = Promise.resolve();
  /**
   * When the KV usage summary is next due from the alarm's flushes, and whether flushes have moved
   * usage since (kept in `meta` too, so a restart does not leave the summary behind for good).
   */
  private summaryDueAt = 0;
  private summaryStale = false;

  constructor(
    private readonly storage: LimiterStorage,
    private readonly env: Pick<Env, "DB" | "CACHE">,
    /** The tenant whose usage this is; null while the limiter holds none. */
    private readonly tenantId: () => string | null,
    /** Called first: what is counted in memory becomes events before they are read. */
    private readonly beforeFlush: () => void,
    private readonly now: () => number,
  ) {}

  /** From SQLite: at start, and after a transaction that failed. */
  load(): void {
    this.summaryStale = this.storage.sql.exec<{ value: number }>("SELECT value FROM meta WHERE name = 'summary_stale'").toArray()[0]?.value === 1;
  }

  /** When the alarm should rewrite the summary, or null when it is not behind. */
  summaryDue(): number | null {
    return this.summaryStale && this.tenantId() !== null ? this.summaryDueAt : null;
  }

  /**
   * Moves every unflushed usage event into the D1 rollups and refreshes the summary when asked
   * (`always`) or due. One flush at a time per limiter: a usage read and the alarm would otherwise
   * write the same events twice to D1 (harmless, the watermark refuses the second, but wasted work).
   */
  flush(summary: SummaryWhen): Promise<{ flushed: number }> {
    const run = this.flushing.then(() => this.flushPending(summary));
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushPending(summary: SummaryWhen): Promise<{ flushed: number }> {
    const tenant = this.tenantId();
    if (tenant === null) return { flushed: 0 };
    this.beforeFlush();
    const sql = this.storage.sql;
    let flushed = 0;
    for (;;) {
      const from = flushedThrough(sql);
      const events = sql
        .exec<EventRow>(`SELECT ${EVENT_COLUMNS} FROM usage_events WHERE seq > ? ORDER BY seq LIMIT ?`, from, FLUSH_BATCH)
        .toArray()
        .map(eventOf);
      if (events.length === 0) break;
      const to = events.at(-1)!.seq;
      const watermark = await flushToD1(this.env.DB, { tenant, fromSeq: from, toSeq: to, deltas: rollUp(events, tenant), requests: requestDeltas(events, tenant) });
      // D1 may already be past `from` (a flush that crashed before recording its watermark here):
      // then this batch was refused, and the loop goes on from D1's watermark. Never move backwards.
      if (watermark <= from) throw new Error(`usage flush of ${tenant} did not apply: D1 watermark ${watermark}, expected > ${from}`);
      this.storage.transactionSync(() => {
        sql.exec("INSERT INTO meta (name, value) VALUES ('flushed_through', ?) ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)", watermark);
        // The events read are every event through `to` not yet compacted (compaction moves with the
        // watermark); D1 ahead of `to` (a crashed flush) leaves events unread, for the SQL path.
        if (watermark === to) compactEvents(sql, events, watermark);
        else compactThrough(sql, watermark);
        this.markSummary(true);
      });
      flushed += events.filter((e) => e.seq <= watermark).length;
    }
    const now = this.now();
    if (this.summaryStale && (summary === "always" || now >= this.summaryDueAt)) {
      await writeUsageSummary(this.env, tenant, now);
      // ± a quarter at random: tenants that started together do not all rewrite theirs in the same second.
      this.summaryDueAt = now + SUMMARY_EVERY_MS * (0.75 + Math.random() / 2);
      this.markSummary(false);
    }
    return { flushed };
  }

  private markSummary(stale: boolean): void {
    if (this.summaryStale === stale) return;
    this.storage.sql.exec("INSERT INTO meta (name, value) VALUES ('summary_stale', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", stale ? 1 : 0);
    this.summaryStale = stale;
  }
}
