// The Hono app: Tollgate's own endpoints under /_tollgate/, the gateway for everything else,
// and the one error handler that renders every problem (CONTRACT §4, §5).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { catalogRoutes } from "./admin/catalog";
import { adminAuth, withAdminForbidden } from "./admin/auth";
import { keyRoutes } from "./admin/keys";
import { limitRoutes } from "./admin/limits";
import { tenantRoutes } from "./admin/tenants";
import { tokenRoutes } from "./admin/tokens";
import { grantRoutes } from "./admin/grants";
import { statementRoutes } from "./admin/statements";
import { surfaceRoutes } from "./admin/surfaces";
import { reportRoutes } from "./admin/reports";
import { ownGrantRoutes } from "./tenant-api/grants";
import { ownStatementRoutes } from "./tenant-api/statement";
import { quoteRoutes } from "./tenant-api/quote";
import { ownUsageRoutes } from "./tenant-api/usage";
import { usageRoutes } from "./admin/usage";
import { auditRoutes } from "./admin/audit";
import { simulationRoutes } from "./simulation/routes";
import { adminAdviceRoutes, ownAdviceRoutes } from "./advice/routes";
import { systemClock, type Clock } from "./clock";
import { DOCS_PATH, docsRoutes } from "./docs/page";
import type { AppEnv } from "./env";
import { handleGatewayRequest } from "./gateway";
import { Health, healthOf } from "./health";
import { uiRoutes } from "./ui/routes";
import { webhookRoutes } from "./webhooks/routes";
import { Problem, problem, renderProblem } from "./problems";

export const ADMIN_BODY_LIMIT = 1024 * 1024;
const ADMIN_PREFIX = "/_tollgate/admin";

export function createApp(options: { clock?: Clock } = {}): OpenAPIHono<AppEnv> {
  const clock = options.clock ?? systemClock;
  const app = new OpenAPIHono<AppEnv>();

  app.use(async (c, next) => {
    c.set("clock", clock);
    c.set("requestId", crypto.randomUUID());
    await next();
  });

  app.get("/_tollgate/health", async (c) => {
    const health = await healthOf(c.env, c.get("clock"));
    return c.json(health, health.status === "ok" ? 200 : 503, { "Cache-Control": "no-store" });
  });
  app.openAPIRegistry.registerPath({
    operationId: "getHealth", method: "get", path: "/_tollgate/health", security: [],
    summary: "Whether the gateway is configured to serve: admin token set, origin URL valid, catalog loaded, D1 migrated",
    responses: {
      200: { description: "ok: every check passes", content: { "application/json": { schema: Health } } },
      503: { description: "degraded: the failing checks say what to fix", content: { "application/json": { schema: Health } } },
    },
  });

  const admin = new OpenAPIHono<AppEnv>();
  admin.use(adminAuth);
  admin.use(bodyLimit({ maxSize: ADMIN_BODY_LIMIT, onError: () => { throw problem("payload-too-large", { detail: `Admin request bodies are limited to ${ADMIN_BODY_LIMIT} bytes.` }); } }));
  admin.route("/", catalogRoutes);
  admin.route("/", tenantRoutes);
  admin.route("/", keyRoutes);
  admin.route("/", limitRoutes);
  admin.route("/", usageRoutes);
  admin.route("/", auditRoutes);
  admin.route("/", tokenRoutes);
  admin.route("/", grantRoutes);
  admin.route("/", statementRoutes);
  admin.route("/", surfaceRoutes);
  admin.route("/", simulationRoutes);
  admin.route("/", adminAdviceRoutes);
  admin.route("/", webhookRoutes);
  admin.route("/", reportRoutes);
  app.route(ADMIN_PREFIX, admin);

  app.route("/_tollgate", quoteRoutes);
  app.route("/_tollgate", ownUsageRoutes);
  app.route("/_tollgate", ownGrantRoutes);
  app.route("/_tollgate", ownStatementRoutes);
  app.route("/_tollgate", ownAdviceRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer", description: "the root ADMIN_TOKEN or an admin token (tga_…)" });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "http", scheme: "bearer", description: "a tenant API key (tg_…)" });
  app.get("/_tollgate/openapi.json", (c) =>
    c.json(
      withAdminForbidden(
        app.getOpenAPI31Document({
          openapi: "3.1.0",
          info: { title: "Tollgate", version: "0.1.0", description: "Tollgate's own endpoints under /_tollgate/ (docs/reference/endpoints.md)." },
          security: [{ adminToken: [] }],
        }),
        ADMIN_PREFIX,
      ),
    ),
  );
  app.openAPIRegistry.registerPath({
    operationId: "getOpenApi", method: "get", path: "/_tollgate/openapi.json", summary: "This OpenAPI 3.1 document", security: [],
    responses: { 200: { description: "the document", content: { "application/json": { schema: z.looseObject({}) } } } },
  });
  app.route(DOCS_PATH, docsRoutes);
  app.route("/_tollgate", uiRoutes);

  app.all("/_tollgate/*", () => {
    throw problem("not-found", { detail: "No such Tollgate endpoint." });
  });
  app.all("*", handleGatewayRequest);

  app.onError((error, c) => {
    const p = asProblem(error);
    if (!p.headers.has("Tollgate-Request-Id")) p.headers.set("Tollgate-Request-Id", c.get("requestId") ?? "");
    return renderProblem(p);
  });
  return app;
}

export function asProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  if (error instanceof HTTPException && (error.status === 400 || error.status === 415)) {
    // Hono's validators throw these for a body that is not JSON or not sent as JSON.
    return problem("invalid-request", { detail: error.message, errors: [{ path: "", message: error.message }] });
  }
  console.error("unhandled error", error);
  return new Problem("internal-error", { detail: "Tollgate failed to handle this request." });
}
