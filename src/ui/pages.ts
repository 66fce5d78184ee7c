// The HTML shells of the dashboard and portal: static markup (no data is ever put into HTML on the
// server), the shared stylesheet, uPlot, the shared client script and the page's own script.
import { assetUrl } from "./assets";

function shell(title: string, pageScript: "dashboard.js" | "portal.js", lead: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${assetUrl("uplot.css")}">
<link rel="stylesheet" href="${assetUrl("pages.css")}">
<script defer src="${assetUrl("uplot.js")}"></script>
<script defer src="${assetUrl("common.js")}"></script>
<script defer src="${assetUrl(pageScript)}"></script>
</head>
<body>
<header><h1>${title}</h1><p class="lead">${lead}</p><div id="session"></div></header>
<main id="app"><noscript>This page needs JavaScript.</noscript></main>
</body>
</html>`;
}

export const dashboardPage = () => shell("Tollgate dashboard", "dashboard.js", "Tenants, their usage and limits, and the catalog's versions.");
export const portalPage = () => shell("Tollgate portal", "portal.js", "Your usage, your limits, and what a request would cost.");
