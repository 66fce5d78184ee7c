// GET /_tollgate/health (docs/reference/endpoints.md): misconfiguration is loud. Each check names
// what is wrong in a sentence an operator can act on; any failing check makes the answer
// `degraded` with status 503, so a monitor sees it without parsing the body.
import { z } from "@hono/zod-openapi";
import { CatalogStore } from "./catalog/store";
import type { Clock } from "./clock";

/** The last migration in migrations/ (test/health.test.ts checks it against the folder). */
export const LATEST_MIGRATION = "0013_report_origin.sql";

export const HealthCheck = z.object({ ok: z.boolean(), detail: z.string() }).openapi("HealthCheck");
export const Health = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checks: z.object({ adminToken: HealthCheck, originUrl: HealthCheck, catalog: HealthCheck, database: HealthCheck }),
  })
  .openapi("Health");
export type Health = z.infer<typeof Health>;
type Check = z.infer<typeof HealthCheck>;

const pass = (detail: string): Check => ({ ok: true, detail });
const fail = (detail: string): Check => ({ ok: false, detail });

function adminToken(env: Env): Check {
  if (!env.ADMIN_TOKEN) return fail("ADMIN_TOKEN is not set: the admin API refuses every call. Set it with `wrangler secret put ADMIN_TOKEN`.");
  if (env.ADMIN_TOKEN.length < 16) return fail("ADMIN_TOKEN is shorter than 16 characters: choose a long random token.");
  return pass("set");
}

function originUrl(env: Env): Check {
  let url: URL;
  try {
    url = new URL(env.ORIGIN_URL);
  } catch {
    return fail(`ORIGIN_URL "${env.ORIGIN_URL}" is not a URL: every request would fail. Set it to the origin API's base URL.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return fail(`ORIGIN_URL must be http or https, not ${url.protocol}`);
  if (url.username || url.password) return fail("ORIGIN_URL must not carry credentials; use ORIGIN_SECRET to sign forwarded requests.");
  return pass(url.origin);
}

async function database(db: D1Database): Promise<Check> {
  try {
    const row = await db.prepare("SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1").first<{ name: string }>();
    if (!row) return fail("no D1 migration has been applied: run `wrangler d1 migrations apply DB`.");
    if (row.name !== LATEST_MIGRATION) return fail(`D1 is migrated to ${row.name}, this gateway needs ${LATEST_MIGRATION}: run \`wrangler d1 migrations apply DB\`.`);
    return pass(`migrated to ${row.name}`);
  } catch (error) {
    return fail(`D1 cannot be read (${error instanceof Error ? error.message : String(error)}): run \`wrangler d1 migrations apply DB\`.`);
  }
}

async function catalog(env: Env, clock: Clock): Promise<Check> {
  try {
    const current = await new CatalogStore(env.DB, env.CACHE, clock).latest();
    return current ? pass(`version ${current.version}`) : fail("no catalog is loaded: every request gets no-surface. PUT one to /_tollgate/admin/catalog.");
  } catch {
    return fail("the catalog cannot be read (is D1 migrated?)");
  }
}

export async function healthOf(env: Env, clock: Clock): Promise<Health> {
  const [db, cat] = await Promise.all([database(env.DB), catalog(env, clock)]);
  const checks = { adminToken: adminToken(env), originUrl: originUrl(env), catalog: cat, database: db };
  return { status: Object.values(checks).every((c) => c.ok) ? "ok" : "degraded", checks };
}
