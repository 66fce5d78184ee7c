// GET /_tollgate/docs: the API reference of every /_tollgate/ operation, rendered in the browser by
// Scalar from openapi.json (parameters, request and response schemas, examples), with its script
// served from /_tollgate/docs/assets/ — the page loads nothing from any other host.
import { createRoute, z } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { AppEnv } from "../env";
import { router } from "../routes";
import { scalarScript, scalarVersion } from "./scalar";

export const DOCS_PATH = "/_tollgate/docs";
export const SCALAR_SCRIPT_PATH = `${DOCS_PATH}/assets/scalar.js`;

const html = (description: string) => ({ description, content: { "text/html": { schema: z.string() } } });

const getDocs = createRoute({
  operationId: "getDocs",
  method: "get",
  path: "/",
  summary: "The API reference page of every /_tollgate/ operation (HTML; works offline)",
  security: [],
  responses: { 200: html("the reference page") },
});

const getDocsScript = createRoute({
  operationId: "getDocsScript",
  method: "get",
  path: "/assets/scalar.js",
  summary: "The script of the reference page (Scalar's standalone bundle), cached for a year",
  security: [],
  request: { query: z.object({ v: z.string().optional().openapi({ description: "the bundle's version, for cache busting" }) }) },
  responses: {
    200: { description: "the script", content: { "text/javascript": { schema: z.string() } } },
    304: { description: "the cached copy (If-None-Match) is current" },
  },
});

const renderPage = Scalar<AppEnv>({
  url: "/_tollgate/openapi.json",
  cdn: `${SCALAR_SCRIPT_PATH}?v=${encodeURIComponent(scalarVersion)}`,
  pageTitle: "Tollgate API reference",
  // Nothing from other hosts: no web fonts, no telemetry, no hosted agent.
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
});

const scriptETag = `"scalar-${scalarVersion}"`;

export const docsRoutes = router();

docsRoutes.openapi(getDocs, async (c) => (await renderPage(c, async () => {})) as Response);

docsRoutes.openapi(getDocsScript, (c) => {
  const headers = {
    "Cache-Control": "public, max-age=31536000, immutable",
    ETag: scriptETag,
  };
  if (c.req.header("If-None-Match") === scriptETag) return c.body(null, 304, headers);
  return c.body(scalarScript, 200, { ...headers, "Content-Type": "text/javascript; charset=utf-8" });
});
