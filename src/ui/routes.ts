// GET /_tollgate/dashboard, /_tollgate/portal and their assets under /_tollgate/ui/ (CONTRACT §9).
// The pages are public shells; the data they show comes from the admin and tenant APIs, called
// from the browser with the token or key the user enters.
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { problem } from "../problems";
import { uiAssets } from "./assets";
import { dashboardPage, portalPage } from "./pages";

/** Scripts and styles only from the gateway itself; data only from the gateway itself. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const pageHeaders = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "Cache-Control": "no-cache",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

export const uiRoutes = new Hono<AppEnv>()
  .get("/dashboard", (c) => c.html(dashboardPage(), 200, pageHeaders))
  .get("/portal", (c) => c.html(portalPage(), 200, pageHeaders))
  .get("/ui/:name", (c) => {
    const a = Object.hasOwn(uiAssets, c.req.param("name")) ? uiAssets[c.req.param("name")] : undefined;
    if (!a) throw problem("not-found", { detail: "No such dashboard asset." });
    // Linked with ?v=<content hash>, so a cached copy is never stale.
    return c.body(a.body, 200, { "Content-Type": a.contentType, "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff", ETag: `"${a.version}"` });
  });
