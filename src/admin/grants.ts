// /_tollgate/admin/grants: partner × customer × surfaces, who pays, the partner's share (CONTRACT §7).
// Every change reaches the customer's limiter before it is answered, so a revocation bites on the
// next delegated call.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { Grant, GrantCreate, GrantPatch, GrantStatus } from "../partners/schema";
import { GrantStore, type GrantRead } from "../partners/store";
import { conflictResponse, jsonAnswer, jsonBody, problemResponses, router } from "../routes";
import { emitEvents, grantUpdated } from "../webhooks/emit";
import { audit } from "./auth";
import { checkIfMatch, etagOf } from "./preconditions";
import { IfMatchHeader, preconditionResponse } from "./tenants";

export const grantStore = (c: Context<AppEnv>) => new GrantStore(c.env, c.get("clock"));
export const grantEtag = (read: GrantRead) => etagOf("grant", read.revision);
const ifMatchOn = (header: string | undefined, id: string) => (read: GrantRead) => checkIfMatch(header, grantEtag(read), `Grant "${id}"`);

const etagHeader = { ETag: { schema: { type: "string" as const }, description: "names this revision; send it back as If-Match" } };
const idParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "grt_3f2a…" }) });
export const GrantList = z.object({ items: z.array(Grant) }).openapi("GrantList");

const createGrant = createRoute({
  operationId: "createGrant",
  method: "post",
  path: "/grants",
  summary: "Grant a partner access to call surfaces on behalf of a customer (active at once)",
  request: { body: jsonBody(GrantCreate) },
  responses: { 201: { ...jsonAnswer(Grant, "the grant"), headers: etagHeader }, ...problemResponses },
});

const listGrants = createRoute({
  operationId: "listGrants",
  method: "get",
  path: "/grants",
  summary: "Grants, by partner, customer or status",
  request: { query: z.object({ partner: z.string().optional(), customer: z.string().optional(), status: GrantStatus.optional() }) },
  responses: { 200: jsonAnswer(GrantList, "the grants, oldest first"), ...problemResponses },
});

const getGrant = createRoute({
  operationId: "getGrant",
  method: "get",
  path: "/grants/{id}",
  summary: "One grant, with its ETag",
  request: { params: idParam },
  responses: { 200: { ...jsonAnswer(Grant, "the grant"), headers: etagHeader }, ...problemResponses },
});

const patchGrant = createRoute({
  operationId: "patchGrant",
  method: "patch",
  path: "/grants/{id}",
  summary: "Change surfaces, payer, share or expiry, or approve a pending grant (status active), with a JSON merge patch",
  request: {
    params: idParam,
    headers: IfMatchHeader,
    body: { required: true, content: { "application/merge-patch+json": { schema: GrantPatch }, "application/json": { schema: GrantPatch } } },
  },
  responses: { 200: { ...jsonAnswer(Grant, "the grant"), headers: etagHeader }, ...problemResponses, ...preconditionResponse, ...conflictResponse },
});

const revokeGrant = createRoute({
  operationId: "revokeGrant",
  method: "delete",
  path: "/grants/{id}",
  summary: "Revoke a grant: its partner's calls on behalf of the customer are refused from the next one on",
  request: { params: idParam, headers: IfMatchHeader },
  responses: { 204: { description: "revoked" }, ...problemResponses, ...preconditionResponse },
});

export const grantRoutes = router()
  .openapi(createGrant, async (c) => {
    const created = await grantStore(c).create(c.req.valid("json"), "admin");
    await audit(c, { action: "grant.create", target: `grant:${created.grant.id}`, before: null, after: created.grant });
    await emitEvents(c.env, [grantUpdated(c.get("clock").now(), created.grant, created.revision)]);
    c.header("ETag", grantEtag(created));
    return c.json(created.grant, 201);
  })
  .openapi(listGrants, async (c) => c.json({ items: await grantStore(c).list(c.req.valid("query")) }, 200))
  .openapi(getGrant, async (c) => {
    const read = await grantStore(c).read(c.req.valid("param").id);
    c.header("ETag", grantEtag(read));
    return c.json(read.grant, 200);
  })
  .openapi(patchGrant, async (c) => {
    const id = c.req.valid("param").id;
    const { before, after, revision } = await grantStore(c).update(id, c.req.valid("json"), ifMatchOn(c.req.valid("header")["if-match"], id));
    await audit(c, { action: "grant.update", target: `grant:${id}`, before, after });
    await emitEvents(c.env, [grantUpdated(c.get("clock").now(), after, revision)]);
    c.header("ETag", etagOf("grant", revision));
    return c.json(after, 200);
  })
  .openapi(revokeGrant, async (c) => {
    const id = c.req.valid("param").id;
    const { before, after } = await grantStore(c).revoke(id, ifMatchOn(c.req.valid("header")["if-match"], id));
    if (before.status !== "revoked") await audit(c, { action: "grant.revoke", target: `grant:${id}`, before, after });
    await emitEvents(c.env, [grantUpdated(c.get("clock").now(), after, "revoked")]);
    return c.body(null, 204);
  });
