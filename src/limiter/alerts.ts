// The tenant's governance events (issue 12): quota thresholds and exhaustion, and calls to
// deprecated surfaces, written to a durable outbox in the limiter's own storage (so an event is
// never lost when the Worker dies) and handed to the webhook hub by the alarm. Each event's id is
// derived from what it is about (tenant, surface, period, threshold / day), so it is queued once
// however often it is noticed, and the hub, idempotent by id, delivers it once.
import { periodBounds } from "./quota-period";
import type { EffectivePolicy } from "./policy";
import type { QuotaCounter } from "./decide";
import type { LimiterStorage } from "./atomic";

export interface OutboxEvent {
  id: string;
  type: "quota.threshold" | "quota.exhausted" | "surface.sunset-call";
  timestamp: string;
  data: Record<string, unknown>;
}

export const ALERTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, type TEXT NOT NULL, timestamp TEXT NOT NULL, data TEXT NOT NULL, queued_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events_queued (id TEXT PRIMARY KEY, at INTEGER NOT NULL);`;

/** Ids of queued events are remembered this long (longer than the longest quota period). */
const QUEUED_MEMORY_MS = 40 * 24 * 60 * 60 * 1000;
const DAY_MS = 86_400_000;

export class AlertBook {
  /** Surfaces already told about today (surface.sunset-call), so the request path writes once a day. */
  private sunsetToday = new Map<string, number>();

  constructor(
    private readonly storage: LimiterStorage,
    private readonly tenant: () => string | null,
  ) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** Queues the event unless an event with its id was queued before. */
  private queue(e: OutboxEvent, now: number): boolean {
    const fresh = this.sql.exec("INSERT OR IGNORE INTO events_queued (id, at) VALUES (?, ?)", e.id, now).rowsWritten > 0;
    if (fresh) this.sql.exec("INSERT INTO outbox (id, type, timestamp, data, queued_at) VALUES (?, ?, ?, ?, ?)", e.id, e.type, e.timestamp, JSON.stringify(e.data), now);
    return fresh;
  }

  /**
   * Every quota of the current period that crossed one of its `alerts` fractions, or was used up,
   * since it was last looked at: one event per crossing (per period and threshold).
   */
  checkQuotas(policies: Iterable<EffectivePolicy>, counter: (surface: string, periodStart: number) => QuotaCounter, now: number): number {
    const tenant = this.tenant();
    if (!tenant) return 0;
    let queued = 0;
    this.storage.transactionSync(() => {
      for (const policy of policies) {
        const quota = policy.quota;
        if (!quota || quota.limit <= 0) continue;
        const bounds = periodBounds(quota.period, now);
        const c = counter(policy.surface, bounds.start);
        const used = c.used;
        const common = {
          tenant,
          surface: policy.surface,
          period: quota.period,
          periodStart: new Date(bounds.start).toISOString(),
          periodEnd: new Date(bounds.end).toISOString(),
          limit: quota.limit,
          used,
          unit: policy.meter.unit,
        };
        const at = new Date(now).toISOString();
        for (const threshold of quota.alerts ?? []) {
          if (used < threshold * quota.limit) continue;
          const id = `quota.threshold:${tenant}:${policy.surface}:${bounds.start}:${threshold}`;
          if (this.queue({ id, type: "quota.threshold", timestamp: at, data: { ...common, threshold } }, now)) queued++;
        }
        if (used >= quota.limit) {
          const id = `quota.exhausted:${tenant}:${policy.surface}:${bounds.start}`;
          if (this.queue({ id, type: "quota.exhausted", timestamp: at, data: { ...common, overage: quota.overage } }, now)) queued++;
        }
      }
    });
    return queued;
  }

  /** A call to a deprecated surface: one event per surface and UTC day. Answers true when it queued one. */
  noteSunsetCall(surface: string, actor: string | null, now: number): boolean {
    const day = Math.floor(now / DAY_MS);
    if (this.sunsetToday.get(surface) === day) return false;
    this.sunsetToday.set(surface, day);
    const tenant = this.tenant();
    if (!tenant) return false;
    const date = new Date(day * DAY_MS).toISOString().slice(0, 10);
    return this.queue({ id: `surface.sunset-call:${tenant}:${surface}:${date}`, type: "surface.sunset-call", timestamp: new Date(now).toISOString(), data: { tenant, surface, day: date, ...(actor && { actor }) } }, now);
  }

  pending(limit = 100): OutboxEvent[] {
    return this.sql
      .exec<{ id: string; type: OutboxEvent["type"]; timestamp: string; data: string }>("SELECT id, type, timestamp, data FROM outbox ORDER BY queued_at, id LIMIT ?", limit)
      .toArray()
      .map((r) => ({ id: r.id, type: r.type, timestamp: r.timestamp, data: JSON.parse(r.data) as Record<string, unknown> }));
  }

  handedOver(ids: string[]): void {
    for (const id of ids) this.sql.exec("DELETE FROM outbox WHERE id = ?", id);
  }

  purge(now: number): void {
    this.sql.exec("DELETE FROM events_queued WHERE at < ?", now - QUEUED_MEMORY_MS);
  }
}
