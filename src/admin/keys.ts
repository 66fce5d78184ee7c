// /_tollgate/admin/tenants/:id/keys: issue, list, revoke (CONTRACT §5).
import { createRoute, z } from "@hono/zod-openapi";
import { TenantId } from "../tenants/schema";
import { jsonAnswer, jsonBody, problemResponses, router } from "../routes";
import { audit } from "./auth";
import { tenantStore } from "./tenants";

const KeySummary = z
  .object({
    id: z.string(),
    prefix: z.string(),
    name: z.string().nullable(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi("KeySummary");

const NewKey = z.object({ id: z.string(), key: z.string(), prefix: z.string(), name: z.string().nullable(), createdAt: z.string(), expiresAt: z.string().nullable() }).openapi("NewKey");

const KeyCreate = z
  .strictObject({
    name: z.string().max(200).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional().openapi({ example: "2027-01-01T00:00:00Z" }),
  })
  .openapi("KeyCreate");

const tenantParam = z.object({ id: TenantId.openapi({ param: { name: "id", in: "path" } }) });

const createKey = createRoute({
  operationId: "createKey",
  method: "post",
  path: "/tenants/{id}/keys",
  summary: "Issue an API key; the only answer that shows `key`",
  request: { params: tenantParam, body: { ...jsonBody(KeyCreate), required: false } },
  responses: { 201: jsonAnswer(NewKey, "the new key"), ...problemResponses },
});

const listKeys = createRoute({
  operationId: "listKeys",
  method: "get",
  path: "/tenants/{id}/keys",
  summary: "A tenant's keys (hashes and secrets are never shown)",
  request: { params: tenantParam },
  responses: { 200: jsonAnswer(z.array(KeySummary), "the keys"), ...problemResponses },
});

const revokeKey = createRoute({
  operationId: "revokeKey",
  method: "delete",
  path: "/tenants/{id}/keys/{keyId}",
  summary: "Revoke a key: it gets key-revoked from the next request on",
  request: { params: tenantParam.extend({ keyId: z.string().openapi({ param: { name: "keyId", in: "path" } }) }) },
  responses: { 204: { description: "revoked" }, ...problemResponses },
});

export const keyRoutes = router()
  .openapi(createKey, async (c) => {
    const body = c.req.valid("json") ?? {};
    const expiresAt = body.expiresAt === undefined ? undefined : new Date(body.expiresAt).toISOString();
    const tenantId = c.req.valid("param").id;
    const created = await tenantStore(c).createKey(tenantId, { name: body.name, expiresAt });
    const { key: _secret, ...summary } = created; // the key itself is never audited
    await audit(c, { action: "key.create", target: `tenant:${tenantId}/key:${created.id}`, before: null, after: summary });
    return c.json(created, 201);
  })
  .openapi(listKeys, async (c) => c.json(await tenantStore(c).listKeys(c.req.valid("param").id), 200))
  .openapi(revokeKey, async (c) => {
    const { id, keyId } = c.req.valid("param");
    const { before, after } = await tenantStore(c).revokeKey(id, keyId);
    await audit(c, { action: "key.revoke", target: `tenant:${id}/key:${keyId}`, before, after });
    return c.body(null, 204);
  });
