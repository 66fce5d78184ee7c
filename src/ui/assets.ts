// The browser files of the dashboard and portal, bundled into the Worker as text (wrangler.toml
// `[[rules]] type = "Text"`), so the pages work with no network but the gateway's own (CONTRACT §9).
import uplotCss from "uplot/dist/uPlot.min.css";
import uplotJs from "uplot/dist/uPlot.iife.min.js";
import { describeChange } from "../catalog/diff";
import commonJs from "./common.client.js";
import dashboardJs from "./dashboard.client.js";
import pagesCss from "./pages.client.css";
import portalJs from "./portal.client.js";

export interface UiAsset {
  body: string;
  contentType: string;
  /** Content hash: pages link `?v=<version>`, so a new deploy is fetched despite the long cache. */
  version: string;
}

/** FNV-1a, 32-bit: a cache-busting tag, not a security check. */
function versionOf(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

const asset = (body: string, contentType: string): UiAsset => ({ body, contentType, version: versionOf(body) });
const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

// The dashboard words a catalog change exactly as the API's and CLI's describeChange does: the
// page's script gets that very function (it is self-contained: it only calls JSON.stringify).
// Wrangler's esbuild keeps function names by wrapping them in `__name(fn, "name")`; the browser
// has no such helper, so the shipped source brings a no-op one.
const sharedJs = `var __name = (fn) => fn;\nconst describeChange = (${describeChange.toString()});\n${commonJs}`;

export const uiAssets: Readonly<Record<string, UiAsset>> = {
  "uplot.js": asset(uplotJs, JS),
  "uplot.css": asset(uplotCss, CSS),
  "pages.css": asset(pagesCss, CSS),
  "common.js": asset(sharedJs, JS),
  "dashboard.js": asset(dashboardJs, JS),
  "portal.js": asset(portalJs, JS),
};

/** The URL a page links an asset by. */
export function assetUrl(name: keyof typeof uiAssets & string): string {
  const a = uiAssets[name];
  if (!a) throw new Error(`no UI asset ${name}`);
  return `/_tollgate/ui/${name}?v=${a.version}`;
}
