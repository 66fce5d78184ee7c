// How any part of Tollgate sends a webhook event: hand it to the hub and wait until it is stored.
// The caller's answer waits for that, so a change that was answered has its event on the way
// (delivered at least once, retried for 24 h). Events carry ids that name the change, so emitting
// again after a retry or a restart is harmless: the hub ignores an id it has seen.
import type { EnqueueResult, WebhookHub } from "./hub";
import type { WebhookEvent } from "./events";

export type { WebhookEvent, WebhookEventType } from "./events";

/** The one hub instance. */
export const webhookHub = (env: Pick<Env, "WEBHOOKS">): DurableObjectStub<WebhookHub> =>
  env.WEBHOOKS.getByName("hub");

export async function emitEvents(env: Pick<Env, "WEBHOOKS">, events: WebhookEvent[]): Promise<EnqueueResult> {
  if (events.length === 0) return { accepted: 0, deliveries: 0 };
  return webhookHub(env).enqueue(events);
}

/** `tenant.updated` for a PATCH (id by the revision written) or a DELETE (final, so one id). */
export function tenantUpdated(at: number, tenant: string, revision: number | "deleted", before: unknown, after: unknown): WebhookEvent {
  return { id: `tenant.updated:${tenant}:${revision}`, type: "tenant.updated", timestamp: new Date(at).toISOString(), data: { tenant, before, after } };
}

/** `grant.updated` for every change of a grant: its revision, or "revoked" (final). */
export function grantUpdated(at: number, grant: { id: string }, revision: number | "revoked"): WebhookEvent {
  return { id: `grant.updated:${grant.id}:${revision}`, type: "grant.updated", timestamp: new Date(at).toISOString(), data: { grant } };
}
