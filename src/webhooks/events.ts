// The events Tollgate sends to webhook endpoints (CONTRACT §8 "Webhooks"). An event's `id` names
// the change it reports, not the moment it was sent: the hub delivers an id once, however often
// it is enqueued, so an emitter that may repeat itself (a retried request, a restarted object)
// gives the same change the same id.

export const WEBHOOK_EVENT_TYPES = ["quota.threshold", "quota.exhausted", "tenant.updated", "grant.updated", "surface.sunset-call"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEvent {
  /** Unique per change, e.g. `tenant.updated:acme:4`; the `webhook-id` of every delivery of it. */
  id: string;
  type: WebhookEventType;
  /** ISO-8601: when the change happened. */
  timestamp: string;
  /** JSON-serialisable. */
  data: unknown;
}

/** The body of a delivery (Standard Webhooks): the same bytes on every retry. */
export const payloadOf = (event: { type: string; timestamp: string; data: unknown }): string =>
  JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });

/** Whether an endpoint subscribed to `events` receives an event of `type`. */
export const subscribes = (events: readonly string[], type: string): boolean => events.includes("*") || events.includes(type);
