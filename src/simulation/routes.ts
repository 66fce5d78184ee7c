// POST /_tollgate/admin/catalog/simulate (CONTRACT §8): the retained per-request rows re-priced under
// a candidate catalog, changing nothing. Validated by parseCatalog (every issue at once), read after
// the tenants' limiters flushed (read-your-writes).
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { diffCatalogs, strandedTenants } from "../catalog/diff";
import { Catalog, parseCatalog, pointerOf } from "../catalog/schema";
import { CatalogStore } from "../catalog/store";
import { periodBounds } from "../limiter/quota-period";
import { flushUsage } from "../metering/read-your-writes";
import { REQUEST_RETENTION_DAYS } from "../metering/requests";
import { problem } from "../problems";
import { jsonAnswer, problemResponses, router } from "../routes";
import { MAX_SIMULATED_ROWS, readRequestRows } from "./rows";
import { simulate, type SimTenant } from "./simulate";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const MAX_TENANTS = 1000;

const Side = z.object({ cost: z.string().openapi({ example: "12.5" }), refusals: z.number().int() });

const SimulationItem = z
  .object({
    tenant: z.string(),
    surface: z.string(),
    current: Side.openapi({ description: "what was recorded: the rows' cost and the requests Tollgate refused" }),
    candidate: Side.openapi({ description: "the same requests priced and limited by the candidate" }),
    delta: z.string().openapi({ description: "candidate cost − current cost", example: "-1.25" }),
  })
  .openapi("SimulationItem");

const SimulationRequest = z
  .object({
    catalog: Catalog,
    from: z.iso.datetime({ offset: true }).optional().openapi({ description: `default (and earliest): ${REQUEST_RETENTION_DAYS} days ago, the retained rows` }),
    to: z.iso.datetime({ offset: true }).optional().openapi({ description: "default: now" }),
    tenants: z.array(z.string().min(1)).max(MAX_TENANTS).optional().openapi({ description: "only these tenants (default: every tenant with rows)" }),
  })
  .openapi("SimulationRequest");

const SimulationAnswer = z
  .object({
    from: z.string(),
    to: z.string(),
    items: z.array(SimulationItem),
    totals: z.object({ current: z.string(), candidate: z.string(), delta: z.string() }),
    stranded: z.array(z.object({ tenant: z.string(), reasons: z.array(z.object({ path: z.string(), message: z.string() })) })),
    changes: z.array(z.object({ op: z.enum(["added", "removed", "changed"]), subject: z.string(), path: z.string(), before: z.unknown().optional(), after: z.unknown().optional() })),
    notes: z.array(z.string()).openapi({ description: "what the simulation approximated for these rows" }),
  })
  .openapi("SimulationAnswer");

const simulateRoute = createRoute({
  method: "post",
  path: "/catalog/simulate",
  operationId: "simulateCatalog",
  summary: "Re-price the retained per-request usage under a candidate catalog, changing nothing: per tenant and surface the current and candidate cost and refusals, the tenants it would strand, and the diff",
  request: { body: { required: true, content: { "application/json": { schema: SimulationRequest } } } },
  responses: { 200: jsonAnswer(SimulationAnswer, "the simulation"), ...problemResponses },
});

async function bodyOf(c: Context<AppEnv>): Promise<{ catalog: Catalog; from?: string; to?: string; tenants?: string[] }> {
  const raw: unknown = await c.req.json().catch(() => {
    throw problem("invalid-request", { detail: "The body must be JSON.", errors: [{ path: "", message: "malformed JSON" }] });
  });
  const shape = z.object({ catalog: z.unknown(), from: SimulationRequest.shape.from, to: SimulationRequest.shape.to, tenants: SimulationRequest.shape.tenants }).strict().safeParse(raw);
  if (!shape.success) {
    throw problem("invalid-request", { detail: "The request does not match the schema.", errors: shape.error.issues.map((i) => ({ path: pointerOf(i.path), message: i.message })) });
  }
  if (shape.data.catalog === undefined) throw problem("invalid-request", { detail: "`catalog` is required.", errors: [{ path: "/catalog", message: "required" }] });
  const parsed = parseCatalog(shape.data.catalog);
  if (!parsed.ok) {
    throw problem("invalid-request", { detail: `The candidate catalog has ${parsed.errors.length} problem(s).`, errors: parsed.errors.map((e) => ({ path: `/catalog${e.path}`, message: e.message })) });
  }
  const { from, to, tenants } = shape.data;
  return { catalog: parsed.catalog, ...(from !== undefined && { from }), ...(to !== undefined && { to }), ...(tenants !== undefined && { tenants }) };
}

const simulationRouter = router();
// Documented from its schema, validated by parseCatalog (schema issues and cross-checks together).
simulationRouter.openAPIRegistry.registerPath(simulateRoute);
simulationRouter.post("/catalog/simulate", async (c) => {
  const body = await bodyOf(c);
  const now = c.get("clock").now();
  // Rows are kept REQUEST_RETENTION_DAYS (purged daily): from the first whole hour inside that, all are here.
  const retained = Math.ceil((now - REQUEST_RETENTION_DAYS * DAY_MS) / HOUR_MS) * HOUR_MS;
  const to = body.to !== undefined ? Date.parse(body.to) : now;
  const asked = body.from !== undefined ? Date.parse(body.from) : retained;
  const from = Math.max(asked, retained);
  if (from > to) throw problem("invalid-request", { detail: "`from` must not be after `to`.", errors: [{ path: "/from", message: "after to" }] });

  const tenantIds = body.tenants ? [...new Set(body.tenants)] : undefined;
  if (tenantIds?.length === 1) await flushUsage(c.env, tenantIds[0]);
  else await flushUsage(c.env);
  const rows = await readRequestRows(c.env.DB, { ...(tenantIds && { tenants: tenantIds }), from: retained, to });
  if (rows === null) throw problem("invalid-request", { detail: `More than ${MAX_SIMULATED_ROWS} requests to replay: name fewer tenants, or an earlier \`to\`.` });

  const { results } = await c.env.DB.prepare("SELECT id, plan, addons, overrides, deleted_at FROM tenants").all<{ id: string; plan: string; addons: string; overrides: string; deleted_at: string | null }>();
  const tenants = new Map<string, SimTenant>(results.map((r) => [r.id, { id: r.id, plan: r.plan, addons: JSON.parse(r.addons) as string[], overrides: JSON.parse(r.overrides) as SimTenant["overrides"] }]));
  const live = results.filter((r) => r.deleted_at === null && (!tenantIds || tenantIds.includes(r.id))).map((r) => tenants.get(r.id)!);

  // Usage in a quota period before the retained rows: from the hourly rollups (leased requests included).
  const seeds = await rollupUnitsBefore(c.env.DB, retained, tenantIds);
  const quotaSeed = (tenant: string, surface: string, periodStart: number) => {
    let sum = 0;
    for (const [hour, units] of seeds.get(`${tenant}\u0000${surface}`) ?? []) if (hour >= periodStart && hour < retained) sum += units;
    return sum;
  };

  const result = simulate({ candidate: body.catalog, rows, tenants, from, to, quotaSeed });
  const current = await new CatalogStore(c.env.DB, c.env.CACHE, c.get("clock")).current();
  const notes = [...result.notes];
  if (asked < retained) notes.unshift(`Per-request rows are kept ${REQUEST_RETENTION_DAYS} days: the simulation starts at ${new Date(retained).toISOString()}.`);
  return c.json(
    {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      items: result.items,
      totals: result.totals,
      stranded: strandedTenants(body.catalog, live),
      changes: diffCatalogs(current?.catalog ?? null, body.catalog),
      notes,
    },
    200,
  );
});

/** Hourly rollup units per tenant × surface from the start of the longest quota period (a month, or a week reaching into the month before) up to `before`. */
async function rollupUnitsBefore(db: D1Database, before: number, tenants: string[] | undefined): Promise<Map<string, [number, number][]>> {
  const start = Math.min(periodBounds("month", before).start, periodBounds("week", before).start);
  const filter = tenants ? " AND tenant IN (SELECT value FROM json_each(?))" : "";
  const { results } = await db
    .prepare(`SELECT tenant, surface, period_start, SUM(units) AS units FROM usage_rollups WHERE granularity = 'hour' AND period_start >= ? AND period_start < ?${filter} GROUP BY tenant, surface, period_start`)
    .bind(new Date(start).toISOString(), new Date(before).toISOString(), ...(tenants ? [JSON.stringify(tenants)] : []))
    .all<{ tenant: string; surface: string; period_start: string; units: number }>();
  const out = new Map<string, [number, number][]>();
  for (const r of results) {
    const id = `${r.tenant}\u0000${r.surface}`;
    let list = out.get(id);
    if (!list) out.set(id, (list = []));
    list.push([Date.parse(r.period_start), r.units]);
  }
  return out;
}

export const simulationRoutes = simulationRouter;
