// GET /_tollgate/admin/audit: admin mutations, newest first, with filters and a cursor (CONTRACT §5).
import { createRoute, z } from "@hono/zod-openapi";
import { queryAudit } from "../audit/log";
import { jsonAnswer, problemResponses, router } from "../routes";

const AuditRecordSchema = z
  .object({ id: z.number().int(), at: z.string(), actor: z.string(), action: z.string(), target: z.string(), before: z.unknown(), after: z.unknown() })
  .openapi("AuditRecord");

const instant = z.iso.datetime({ offset: true }).or(z.iso.date());

const listAudit = createRoute({
  operationId: "listAudit",
  method: "get",
  path: "/audit",
  summary: "Admin mutations, newest first; the next page's cursor is in the Link header",
  request: {
    query: z.object({
      from: instant.optional(),
      to: instant.optional(),
      action: z.string().optional(),
      target: z.string().optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
      cursor: z.coerce.number().int().positive().optional(),
    }),
  },
  responses: { 200: jsonAnswer(z.array(AuditRecordSchema), "audit records"), ...problemResponses },
});

export const auditRoutes = router().openapi(listAudit, async (c) => {
  const q = c.req.valid("query");
  const iso = (v: string | undefined) => (v === undefined ? undefined : new Date(v).toISOString());
  const records = await queryAudit(c.env.DB, { from: iso(q.from), to: iso(q.to), action: q.action, target: q.target, before: q.cursor, limit: q.limit });
  if (records.length === q.limit) {
    const next = new URL(c.req.url);
    next.searchParams.set("cursor", String(records.at(-1)!.id));
    c.header("Link", `<${next.pathname}${next.search}>; rel="next"`);
  }
  return c.json(records, 200);
});
