// /_tollgate/admin/webhooks: register, list and delete endpoints, and read an endpoint's delivery
// log (CONTRACT §8 "Webhooks"). The secret is shown once, in the answer that creates it.
import { createRoute, z } from "@hono/zod-openapi";
import { audit } from "../admin/auth";
import { problem } from "../problems";
import { conflictResponse, jsonAnswer, jsonBody, problemResponses, router } from "../routes";
import { webhookHub } from "./emit";
import { WEBHOOK_EVENT_TYPES } from "./events";
import { MAX_ENDPOINTS } from "./hub";

/** An absolute http(s) URL with no credentials in it (they would be logged and shown in lists). */
export const WebhookUrl = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an absolute URL" });
      return;
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") ctx.addIssue({ code: "custom", message: "must be an http or https URL" });
    if (url.username !== "" || url.password !== "") ctx.addIssue({ code: "custom", message: "must not contain a username or password" });
  })
  .openapi({ format: "uri", description: "http or https, no username or password, at most 2048 characters", example: "https://hooks.example.com/tollgate" });

export const WebhookEventName = z.enum(["*", ...WEBHOOK_EVENT_TYPES]).openapi({ description: 'an event type, or "*" for every type' });

export const WebhookCreate = z
  .strictObject({
    url: WebhookUrl,
    events: z.array(WebhookEventName).min(1).max(WEBHOOK_EVENT_TYPES.length + 1),
    description: z.string().max(500).optional(),
  })
  .openapi("WebhookCreate");
export type WebhookCreate = z.input<typeof WebhookCreate>;

export const WebhookEndpoint = z
  .object({
    id: z.string().openapi({ example: "we_3f2aK9…" }),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("WebhookEndpoint");

export const NewWebhookEndpoint = WebhookEndpoint.extend({
  secret: z.string().openapi({ description: "the signing secret (Standard Webhooks); this is the only answer that shows it", example: "whsec_…" }),
}).openapi("NewWebhookEndpoint");

export const WebhookAttempt = z
  .object({
    id: z.string().openapi({ description: "the event id: the delivery's `webhook-id`, the same on every retry" }),
    event: z.string().openapi({ description: "the event type" }),
    at: z.string(),
    status: z.number().int().nullable().openapi({ description: "the endpoint's HTTP status; null when it gave none" }),
    error: z.string().optional().openapi({ description: "why no status came (network error, timeout)" }),
    attempt: z.number().int().openapi({ description: "1 for the first attempt of this delivery" }),
    durationMs: z.number().int(),
    state: z.enum(["pending", "delivered", "failed"]).openapi({ description: "the delivery's state now" }),
  })
  .openapi("WebhookAttempt");

const idParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "we_3f2aK9…" }) });

const createWebhook = createRoute({
  operationId: "createWebhook",
  method: "post",
  path: "/webhooks",
  summary: "Register a webhook endpoint; the only answer that shows its signing `secret`",
  request: { body: jsonBody(WebhookCreate) },
  responses: { 201: jsonAnswer(NewWebhookEndpoint, "the endpoint"), ...problemResponses, ...conflictResponse },
});

const listWebhooks = createRoute({
  operationId: "listWebhooks",
  method: "get",
  path: "/webhooks",
  summary: "The webhook endpoints, oldest first (secrets are never shown)",
  responses: { 200: jsonAnswer(z.array(WebhookEndpoint), "the endpoints"), ...problemResponses },
});

const deleteWebhook = createRoute({
  operationId: "deleteWebhook",
  method: "delete",
  path: "/webhooks/{id}",
  summary: "Delete a webhook endpoint: it gets nothing more, not even retries of earlier events",
  request: { params: idParam },
  responses: { 204: { description: "deleted" }, ...problemResponses },
});

const listWebhookDeliveries = createRoute({
  operationId: "listWebhookDeliveries",
  method: "get",
  path: "/webhooks/{id}/deliveries",
  summary: "Every delivery attempt to an endpoint, newest first (kept 7 days after the delivery ended)",
  request: { params: idParam, query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
  responses: { 200: jsonAnswer(z.array(WebhookAttempt), "the attempts"), ...problemResponses },
});

const noSuchEndpoint = (id: string) => problem("not-found", { detail: `No webhook endpoint "${id}".` });

export const webhookRoutes = router()
  .openapi(createWebhook, async (c) => {
    const input = c.req.valid("json");
    const created = await webhookHub(c.env).createEndpoint({ url: input.url, events: [...new Set(input.events)], description: input.description ?? null });
    if (!created) throw problem("conflict", { detail: `At most ${MAX_ENDPOINTS} webhook endpoints may exist; delete one first.` });
    const { secret: _secret, ...summary } = created; // the secret is never audited
    await audit(c, { action: "webhook.create", target: `webhook:${created.id}`, before: null, after: summary });
    return c.json(created, 201);
  })
  .openapi(listWebhooks, async (c) => c.json(await webhookHub(c.env).listEndpoints(), 200))
  .openapi(deleteWebhook, async (c) => {
    const id = c.req.valid("param").id;
    const before = await webhookHub(c.env).deleteEndpoint(id);
    if (!before) throw noSuchEndpoint(id);
    await audit(c, { action: "webhook.delete", target: `webhook:${id}`, before, after: null });
    return c.body(null, 204);
  })
  .openapi(listWebhookDeliveries, async (c) => {
    const id = c.req.valid("param").id;
    const attempts = await webhookHub(c.env).deliveries(id, c.req.valid("query").limit);
    if (!attempts) throw noSuchEndpoint(id);
    return c.json(attempts, 200);
  });
