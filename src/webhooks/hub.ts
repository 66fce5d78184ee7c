// WebhookHub: the one Durable Object (name "hub") that holds webhook endpoints, the events
// enqueued for them, one delivery per (event, endpoint) and the log of every attempt
// (CONTRACT §8 "Webhooks"). Its alarm sends what is due and purges what is old.
//
// Why a Durable Object and not a Queue: it runs under `wrangler dev` and vitest with no extra
// service to provision; its delivery log is plain SQL the admin API can query (a Queue's messages
// cannot be listed); and `enqueue` answers only once the event is in durable storage, so an event
// whose caller got its answer is never lost, and an id seen before is recognised however long ago
// it came (a Queue would need its own store for that).
//
// Every RPC method runs its SQLite statements without awaiting in between, so each is atomic. The
// alarm awaits the endpoints' answers; meanwhile `deleteEndpoint` may run, so an attempt's result
// is written only while its delivery is still pending.
import { DurableObject } from "cloudflare:workers";
import { systemClock, type Clock } from "../clock";
import { randomBase62 } from "../crypto";
import { nextAttemptAt } from "./backoff";
import { attemptDelivery } from "./deliver";
import { payloadOf, subscribes, type WebhookEvent } from "./events";

/** Delivered and failed deliveries, their attempts and deleted endpoints are kept this long, then purged. */
export const DELIVERY_RETENTION_MS = 7 * 24 * 3_600_000;
/**
 * Event ids are remembered this long (so a repeated `enqueue` is ignored): longer than a monthly
 * quota period, so an emitter that repeats a crossing within its period is never delivered twice.
 */
export const EVENT_MEMORY_MS = 35 * 24 * 3_600_000;
/** Attempts made at once by one alarm, and at most per alarm (the rest are due at the next). */
export const DELIVERY_CONCURRENCY = 8;
export const DELIVERIES_PER_ALARM = 200;
/** Live endpoints at most: each event is fanned out to every subscribed one. */
export const MAX_ENDPOINTS = 100;

export type DeliveryState = "pending" | "delivered" | "failed";

export interface EndpointInput {
  url: string;
  events: string[];
  description: string | null;
}

export interface EndpointSummary extends EndpointInput {
  id: string;
  createdAt: string;
}

export interface NewEndpoint extends EndpointSummary {
  secret: string;
}

export interface AttemptRecord {
  /** The event id: the `webhook-id` header of the attempt. */
  id: string;
  event: string;
  at: string;
  status: number | null;
  error?: string;
  attempt: number;
  durationMs: number;
  state: DeliveryState;
}

export interface EnqueueResult {
  /** Events new to the hub (the others had been enqueued before and were ignored). */
  accepted: number;
  /** Deliveries created for them. */
  deliveries: number;
}

export interface HubStats {
  endpoints: number;
  messages: number;
  deliveries: Record<DeliveryState, number>;
  attempts: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS endpoints (
  id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL, description TEXT,
  secret TEXT NOT NULL, created_at INTEGER NOT NULL, deleted_at INTEGER);
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY, type TEXT NOT NULL, timestamp TEXT NOT NULL, data TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at);
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, endpoint_id TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER, first_at INTEGER, done_at INTEGER,
  UNIQUE (message_id, endpoint_id));
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
CREATE INDEX IF NOT EXISTS deliveries_done ON deliveries (done_at);
CREATE TABLE IF NOT EXISTS attempts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id INTEGER NOT NULL, endpoint_id TEXT NOT NULL,
  attempt INTEGER NOT NULL, at INTEGER NOT NULL, status INTEGER, error TEXT, duration_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_endpoint ON attempts (endpoint_id, seq);
CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts (delivery_id);`;

const NO_DELIVERY_OF_ENDPOINT = "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.endpoint_id = endpoints.id)";
const NO_DELIVERY_OF_MESSAGE = "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id)";

type EndpointRow = {
  id: string;
  url: string;
  events: string;
  description: string | null;
  secret: string;
  created_at: number;
  deleted_at: number | null;
};

type DueRow = {
  id: number;
  message_id: string;
  attempts: number;
  first_at: number | null;
  url: string;
  secret: string;
  type: string;
  timestamp: string;
  data: string;
};

/** A Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

const summaryOf = (r: EndpointRow): EndpointSummary => ({
  id: r.id,
  url: r.url,
  events: JSON.parse(r.events) as string[],
  description: r.description,
  createdAt: new Date(r.created_at).toISOString(),
});

export class WebhookHub extends DurableObject<Env> {
  /** Replaced by tests through runInDurableObject to step through the retry schedule. */
  clock: Clock = systemClock;
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
  }

  // ---- events --------------------------------------------------------------------------------

  /**
   * Stores each event new to the hub and a pending delivery of it for every live endpoint
   * subscribed to its type. An id seen before is ignored: an emitter may repeat itself (after a
   * retry or a restart) and each change is still delivered once.
   */
  async enqueue(events: WebhookEvent[]): Promise<EnqueueResult> {
    const now = this.clock.now();
    const endpoints = this.liveEndpoints();
    let accepted = 0;
    let deliveries = 0;
    for (const event of events) {
      const inserted = this.sql.exec(
        "INSERT INTO messages (id, type, timestamp, data, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        event.id,
        event.type,
        event.timestamp,
        JSON.stringify(event.data ?? null),
        now,
      ).rowsWritten;
      if (inserted === 0) continue;
      accepted++;
      for (const endpoint of endpoints) {
        if (!subscribes(JSON.parse(endpoint.events) as string[], event.type)) continue;
        this.sql.exec("INSERT INTO deliveries (message_id, endpoint_id, next_at) VALUES (?, ?, ?)", event.id, endpoint.id, now);
        deliveries++;
      }
    }
    // Deliveries are due now; an event no endpoint wanted is still remembered, and purged in time.
    if (accepted > 0) await this.wakeBy(deliveries > 0 ? now : now + EVENT_MEMORY_MS);
    return { accepted, deliveries };
  }

  // ---- endpoints -----------------------------------------------------------------------------

  /** Answers null when MAX_ENDPOINTS live endpoints exist already. */
  createEndpoint(input: EndpointInput): NewEndpoint | null {
    const live = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM endpoints WHERE deleted_at IS NULL").one().n;
    if (live >= MAX_ENDPOINTS) return null;
    const row: EndpointRow = {
      id: `we_${randomBase62(20)}`,
      url: input.url,
      events: JSON.stringify(input.events),
      description: input.description,
      secret: newSecret(),
      created_at: this.clock.now(),
      deleted_at: null,
    };
    this.sql.exec(
      "INSERT INTO endpoints (id, url, events, description, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      row.id,
      row.url,
      row.events,
      row.description,
      row.secret,
      row.created_at,
    );
    return { ...summaryOf(row), secret: row.secret };
  }

  /**
   * The endpoint gets nothing more: its pending deliveries end as `failed` (no attempt is made),
   * and it and its log are purged after DELIVERY_RETENTION_MS. Answers the endpoint, or null when
   * there is no live one with this id.
   */
  async deleteEndpoint(id: string): Promise<EndpointSummary | null> {
    const row = this.sql.exec<EndpointRow>("SELECT * FROM endpoints WHERE id = ? AND deleted_at IS NULL", id).toArray()[0];
    if (!row) return null;
    const now = this.clock.now();
    this.sql.exec("UPDATE endpoints SET deleted_at = ? WHERE id = ?", now, id);
    this.sql.exec("UPDATE deliveries SET state = 'failed', next_at = NULL, done_at = ? WHERE endpoint_id = ? AND state = 'pending'", now, id);
    await this.schedule();
    return summaryOf(row);
  }

  /** Live endpoints, oldest first, without their secrets. */
  listEndpoints(): EndpointSummary[] {
    return this.liveEndpoints().map(summaryOf);
  }

  /** The attempts made for a live endpoint, newest first; null when there is no such endpoint. */
  deliveries(endpointId: string, limit: number): AttemptRecord[] | null {
    const live = this.sql.exec("SELECT 1 FROM endpoints WHERE id = ? AND deleted_at IS NULL", endpointId).toArray().length > 0;
    if (!live) return null;
    const rows = this.sql.exec<{ id: string; event: string | null; at: number; status: number | null; error: string | null; attempt: number; duration_ms: number; state: DeliveryState }>(
      `SELECT d.message_id AS id, m.type AS event, a.at, a.status, a.error, a.attempt, a.duration_ms, d.state
         FROM attempts a JOIN deliveries d ON d.id = a.delivery_id LEFT JOIN messages m ON m.id = d.message_id
        WHERE a.endpoint_id = ? ORDER BY a.seq DESC LIMIT ?`,
      endpointId,
      Math.max(1, Math.min(limit, 1000)),
    );
    return rows.toArray().map((r) => ({
      id: r.id,
      event: r.event ?? "",
      at: new Date(r.at).toISOString(),
      status: r.status,
      ...(r.error !== null && { error: r.error }),
      attempt: r.attempt,
      durationMs: r.duration_ms,
      state: r.state,
    }));
  }

  /** Row counts: storage stays bounded (the alarm purges), and the dashboard can say what is pending. */
  stats(): HubStats {
    const count = (sql: string) => this.sql.exec<{ n: number }>(sql).one().n;
    const deliveries: Record<DeliveryState, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const r of this.sql.exec<{ state: DeliveryState; n: number }>("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")) deliveries[r.state] = r.n;
    return { endpoints: count("SELECT COUNT(*) AS n FROM endpoints"), messages: count("SELECT COUNT(*) AS n FROM messages"), deliveries, attempts: count("SELECT COUNT(*) AS n FROM attempts") };
  }

  // ---- the alarm: deliver what is due, purge what is old -------------------------------------

  override async alarm(): Promise<void> {
    const due = this.sql
      .exec<DueRow>(
        `SELECT d.id, d.message_id, d.attempts, d.first_at, e.url, e.secret, m.type, m.timestamp, m.data
           FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id JOIN messages m ON m.id = d.message_id
          WHERE d.state = 'pending' AND d.next_at <= ? AND e.deleted_at IS NULL
          ORDER BY d.next_at LIMIT ?`,
        this.clock.now(),
        DELIVERIES_PER_ALARM,
      )
      .toArray();
    let next = 0;
    const worker = async () => {
      while (next < due.length) await this.attempt(due[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(DELIVERY_CONCURRENCY, due.length) }, worker));
    this.purge(this.clock.now());
    await this.schedule();
  }

  private async attempt(d: DueRow): Promise<void> {
    const at = this.clock.now();
    const payload = payloadOf({ type: d.type, timestamp: d.timestamp, data: JSON.parse(d.data) as unknown });
    const outcome = await attemptDelivery(d.url, d.secret, d.message_id, at, payload);
    const attempts = d.attempts + 1;
    const firstAt = d.first_at ?? at;
    // The endpoint may have been deleted while the attempt was under way: then the delivery is no
    // longer pending and keeps the state the deletion gave it.
    const still = this.sql.exec("SELECT 1 FROM deliveries WHERE id = ? AND state = 'pending'", d.id).toArray().length > 0;
    this.sql.exec(
      "INSERT INTO attempts (delivery_id, endpoint_id, attempt, at, status, error, duration_ms) SELECT id, endpoint_id, ?, ?, ?, ?, ? FROM deliveries WHERE id = ?",
      attempts,
      at,
      outcome.status,
      outcome.error,
      outcome.durationMs,
      d.id,
    );
    if (!still) return;
    if (outcome.ok) {
      this.sql.exec("UPDATE deliveries SET state = 'delivered', attempts = ?, first_at = ?, next_at = NULL, done_at = ? WHERE id = ?", attempts, firstAt, at, d.id);
      return;
    }
    const retryAt = nextAttemptAt(firstAt, at, attempts);
    if (retryAt === null) {
      this.sql.exec("UPDATE deliveries SET state = 'failed', attempts = ?, first_at = ?, next_at = NULL, done_at = ? WHERE id = ?", attempts, firstAt, at, d.id);
    } else {
      this.sql.exec("UPDATE deliveries SET attempts = ?, first_at = ?, next_at = ? WHERE id = ?", attempts, firstAt, retryAt, d.id);
    }
  }

  /** Storage stays bounded: finished deliveries and their attempts, old deleted endpoints and old event ids go. */
  private purge(now: number): void {
    const cutoff = now - DELIVERY_RETENTION_MS;
    this.sql.exec("DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE state <> 'pending' AND done_at <= ?)", cutoff);
    this.sql.exec("DELETE FROM deliveries WHERE state <> 'pending' AND done_at <= ?", cutoff);
    this.sql.exec(`DELETE FROM endpoints WHERE deleted_at <= ? AND ${NO_DELIVERY_OF_ENDPOINT}`, cutoff);
    this.sql.exec(`DELETE FROM messages WHERE created_at <= ? AND ${NO_DELIVERY_OF_MESSAGE}`, now - EVENT_MEMORY_MS);
  }

  /**
   * The alarm is set for the earliest due delivery or purge, and removed when there is none. A
   * purge time counts only for rows the purge would then delete (an endpoint or event whose
   * deliveries are gone), so a time in the past never sets an alarm that finds nothing to do.
   */
  private async schedule(): Promise<void> {
    const r = this.sql
      .exec<{ due: number | null; done: number | null; deleted: number | null; created: number | null }>(
        `SELECT
           (SELECT MIN(d.next_at) FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.state = 'pending' AND e.deleted_at IS NULL) AS due,
           (SELECT MIN(done_at) FROM deliveries WHERE state <> 'pending') AS done,
           (SELECT MIN(deleted_at) FROM endpoints WHERE ${NO_DELIVERY_OF_ENDPOINT}) AS deleted,
           (SELECT MIN(created_at) FROM messages WHERE ${NO_DELIVERY_OF_MESSAGE}) AS created`,
      )
      .one();
    const times = [
      r.due,
      r.done === null ? null : r.done + DELIVERY_RETENTION_MS,
      r.deleted === null ? null : r.deleted + DELIVERY_RETENTION_MS,
      r.created === null ? null : r.created + EVENT_MEMORY_MS,
    ].filter((t): t is number => t !== null);
    if (times.length === 0) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.min(...times));
  }

  /** Makes sure the alarm runs by `at` (an earlier one stays). */
  private async wakeBy(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private liveEndpoints(): EndpointRow[] {
    return this.sql.exec<EndpointRow>("SELECT * FROM endpoints WHERE deleted_at IS NULL ORDER BY created_at, id").toArray();
  }
}
