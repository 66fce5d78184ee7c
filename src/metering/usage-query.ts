// The query of GET /usage, shared by the admin and the tenant endpoints (CONTRACT §5).
import { z } from "@hono/zod-openapi";
import { problem } from "../problems";
import { GRANULARITIES } from "./rollup";
import type { UsageFilter } from "./usage-rows";

const instant = z.iso.datetime({ offset: true }).or(z.iso.date()).openapi({ example: "2026-11-01T00:00:00Z" });

export const UsageQuery = z.object({
  tenant: z.string().optional(),
  surface: z.string().optional(),
  actor: z.string().optional().openapi({ description: "only calls made by this tenant (itself, or a partner on another's behalf)" }),
  payer: z.string().optional().openapi({ description: "only calls this tenant pays for" }),
  from: instant.optional(),
  to: instant.optional(),
  granularity: z.enum(GRANULARITIES).default("day"),
  format: z.enum(["json", "csv"]).default("json"),
});
export type UsageQuery = z.infer<typeof UsageQuery>;

/** `from`/`to` as UTC ISO strings comparable with stored period starts; `from` must precede `to`. */
export function filterOf(q: UsageQuery, tenant: string | undefined): UsageFilter {
  const from = q.from === undefined ? undefined : new Date(q.from).toISOString();
  const to = q.to === undefined ? undefined : new Date(q.to).toISOString();
  if (from !== undefined && to !== undefined && from >= to) {
    throw problem("invalid-request", { detail: "`from` must be before `to`.", errors: [{ path: "/from", message: "must be before to" }] });
  }
  return { tenant, surface: q.surface, actor: q.actor, payer: q.payer, from, to, granularity: q.granularity };
}
