// Consent (CONTRACT §7), with the tenant's own key: a partner asks for a grant (pending, no
// share: a partner never sets its own), the customer approves, rejects or revokes it. A grant is
// seen only by the two tenants it names; to anyone else it does not exist (404).
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { recordAudit } from "../audit/log";
import type { AppEnv } from "../env";
import { Grant, GrantRequest } from "../partners/schema";
import { GrantStore, type GrantRead } from "../partners/store";
import { problem } from "../problems";
import { jsonAnswer, jsonBody, problemContent, problemResponses, router } from "../routes";
import { emitEvents, grantUpdated } from "../webhooks/emit";
import { checkedCaller, tenantAuth } from "./quote";

const idParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" } }) });
const forbidden403 = { 403: { description: "the caller's key is revoked, or its tenant suspended", content: problemContent } } as const;

const requestGrant = createRoute({
  operationId: "requestGrant",
  method: "post",
  path: "/grants",
  summary: "A partner asks a customer for access (pending until the customer approves)",
  security: [{ apiKey: [] }],
  request: { body: jsonBody(GrantRequest) },
  responses: { 201: jsonAnswer(Grant, "the pending grant"), ...problemResponses, ...forbidden403 },
});

const ownGrants = createRoute({
  operationId: "listOwnGrants",
  method: "get",
  path: "/grants",
  summary: "The grants naming the caller, as partner or as customer",
  security: [{ apiKey: [] }],
  responses: { 200: jsonAnswer(z.object({ items: z.array(Grant) }), "the grants"), ...problemResponses, ...forbidden403 },
});

const answerRoute = (answer: "approve" | "reject") =>
  createRoute({
    operationId: `${answer}Grant`,
    method: "post",
    path: `/grants/{id}/${answer}`,
    summary: answer === "approve" ? "The customer approves a pending grant: it is active from the next call" : "The customer rejects a pending grant",
    security: [{ apiKey: [] }],
    request: { params: idParam },
    responses: { 200: jsonAnswer(Grant, "the grant"), ...problemResponses, ...forbidden403, 409: { description: "conflict: the grant is no longer pending", content: problemContent } },
  });

const revokeOwnGrant = createRoute({
  operationId: "revokeOwnGrant",
  method: "delete",
  path: "/grants/{id}",
  summary: "Either tenant a grant names revokes it: refused from the next delegated call on",
  security: [{ apiKey: [] }],
  request: { params: idParam },
  responses: { 204: { description: "revoked" }, ...problemResponses, ...forbidden403 },
});

const caller = checkedCaller;

const store = (c: Context<AppEnv>) => new GrantStore(c.env, c.get("clock"));

async function readAs(c: Context<AppEnv>, id: string, tenant: string, role: "customer" | "either"): Promise<GrantRead> {
  const read = await store(c).read(id).catch(() => null);
  const party = read && (read.grant.customer === tenant || (role === "either" && read.grant.partner === tenant));
  if (!read || !party) throw problem("not-found", { detail: role === "customer" ? `You have no grant "${id}" to answer as its customer.` : `No grant "${id}".` });
  return read;
}

const auditAs = (c: Context<AppEnv>, tenant: string, action: string, before: Grant | null, after: Grant) =>
  recordAudit(c.env.DB, c.get("clock"), { actor: `tenant:${tenant}`, action, target: `grant:${after.id}`, before, after });

const grantsRouter = router();
grantsRouter.use("/grants", tenantAuth);
grantsRouter.use("/grants/*", tenantAuth);

export const ownGrantRoutes = grantsRouter
  .openapi(requestGrant, async (c) => {
    const partner = await caller(c);
    const input = c.req.valid("json");
    const created = await store(c).create({ ...input, partner }, "partner");
    await auditAs(c, partner, "grant.request", null, created.grant);
    await emitEvents(c.env, [grantUpdated(c.get("clock").now(), created.grant, created.revision)]);
    return c.json(created.grant, 201);
  })
  .openapi(ownGrants, async (c) => c.json({ items: await store(c).list({ either: await caller(c) }) }, 200))
  .openapi(answerRoute("approve"), async (c) => {
    const customer = await caller(c);
    const read = await readAs(c, c.req.valid("param").id, customer, "customer");
    if (read.grant.status !== "pending" && read.grant.status !== "active") throw problem("conflict", { detail: `Grant "${read.grant.id}" is ${read.grant.status}.` });
    const { before, after, revision } = await store(c).update(read.grant.id, { status: "active" });
    await auditAs(c, customer, "grant.approve", before, after);
    await emitEvents(c.env, [grantUpdated(c.get("clock").now(), after, revision)]);
    return c.json(after, 200);
  })
  .openapi(answerRoute("reject"), async (c) => {
    const customer = await caller(c);
    const read = await readAs(c, c.req.valid("param").id, customer, "customer");
    if (read.grant.status !== "pending") throw problem("conflict", { detail: `Grant "${read.grant.id}" is ${read.grant.status}, not pending: revoke it instead.` });
    const { before, after, revision } = await store(c).update(read.grant.id, { status: "rejected" });
    await auditAs(c, customer, "grant.reject", before, after);
    await emitEvents(c.env, [grantUpdated(c.get("clock").now(), after, revision)]);
    return c.json(after, 200);
  })
  .openapi(revokeOwnGrant, async (c) => {
    const tenant = await caller(c);
    const read = await readAs(c, c.req.valid("param").id, tenant, "either");
    const { before, after } = await store(c).revoke(read.grant.id);
    if (before.status !== "revoked") await auditAs(c, tenant, "grant.revoke", before, after);
    await emitEvents(c.env, [grantUpdated(c.get("clock").now(), after, "revoked")]);
    return c.body(null, 204);
  });
