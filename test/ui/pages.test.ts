// The dashboard and portal shells and their bundled assets (CONTRACT §9): served by the Worker
// itself (wrangler.toml's Text rule), cached for long under content-hashed URLs, and locked to the
// gateway's own origin by the Content-Security-Policy. Their behaviour in a browser: test/e2e.
import { describe, expect, it } from "vitest";
import { describeChange } from "../../src/catalog/diff";
import { send } from "../support/http";

async function page(path: string) {
  const res = await send(path);
  return { res, html: await res.text() };
}

const linked = (html: string) => [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);

describe.each(["/_tollgate/dashboard", "/_tollgate/portal"])("%s", (path) => {
  it("is a public HTML page that asks for nothing from another origin", async () => {
    const { res, html } = await page(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const urls = linked(html);
    expect(urls.length).toBeGreaterThanOrEqual(4);
    for (const url of urls) expect(url).toMatch(/^\/_tollgate\/ui\/[\w.-]+\?v=\w+$/);
    expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline script: CSP forbids it
  });

  it("links assets that answer, long-cached, with their content type", async () => {
    const { html } = await page(path);
    for (const url of linked(html)) {
      const res = await send(url);
      const body = await res.text();
      expect(res.status, url).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("Content-Type")).toMatch(url.includes(".css") ? /^text\/css/ : /^text\/javascript/);
      expect(body.length, url).toBeGreaterThan(500);
    }
  });
});

describe("assets", () => {
  it("serves uPlot exactly as the npm package ships it", async () => {
    const res = await send("/_tollgate/ui/uplot.js");
    const js = await res.text();
    expect(js).toMatch(/^\/\*! https:\/\/github\.com\/leeoniya\/uPlot/);
    expect(js).toContain("var uPlot");
    const css = await (await send("/_tollgate/ui/uplot.css")).text();
    expect(css).toContain(".uplot");
  });

  it("gives the pages the API's own describeChange, which still words a change the same way", async () => {
    const source = await (await send("/_tollgate/ui/common.js")).text();
    const shipped = new Function(`${source}; return describeChange;`)() as typeof describeChange;
    const change = { op: "changed", subject: "price", path: "/plans/growth/surfaces/events.feed/price", before: { unit: "0.0001" }, after: { unit: "0.0002" } } as const;
    expect(shipped(change)).toBe(describeChange(change));
    expect(shipped({ op: "added", subject: "route", path: "/surfaces/a/routes", after: "GET /x" })).toBe('+ route /surfaces/a/routes "GET /x"');
  });

  it("answers not-found for any other asset name", async () => {
    for (const name of ["nope.js", "constructor", "__proto__", "toString"]) {
      const res = await send(`/_tollgate/ui/${name}`);
      expect(res.status, name).toBe(404);
      expect(res.headers.get("Content-Type")).toBe("application/problem+json");
      await res.arrayBuffer();
    }
  });
});
