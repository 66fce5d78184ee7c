// GET /_tollgate/docs renders every operation with nothing but the gateway's own network: the page,
// the Scalar script it loads from the Worker, and an operationId on every operation of openapi.json.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const BASE = "http://tollgate.test";
const get = (path: string, init: RequestInit = {}) => exports.default.fetch(new Request(BASE + path, init));

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;

interface OpenApiDocument {
  paths: Record<string, Partial<Record<(typeof METHODS)[number], { operationId?: string }>>>;
}

async function operations(): Promise<{ name: string; operationId: string | undefined }[]> {
  const doc = await (await get("/_tollgate/openapi.json")).json<OpenApiDocument>();
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((m) => ({ name: `${m.toUpperCase()} ${path}`, operationId: item[m]!.operationId })),
  );
}

/** Every URL the page names in src= or href= (or as Scalar's document url). */
const urlsOf = (html: string) => [...html.matchAll(/(?:src|href)="([^"]*)"|"url":\s*"([^"]*)"/g)].map((m) => m[1] ?? m[2]!);

describe("the docs page", () => {
  it("is HTML that loads only the gateway's own script and document", async () => {
    const res = await get("/_tollgate/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    const urls = urlsOf(html);
    expect(urls).toEqual(expect.arrayContaining([expect.stringMatching(/^\/_tollgate\/docs\/assets\/scalar\.js\?v=/), "/_tollgate/openapi.json"]));
    // No other host: every URL is a path on the gateway itself, and Scalar's web fonts are off.
    expect(urls.filter((u) => !u.startsWith("/"))).toEqual([]);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toMatch(/"withDefaultFonts":\s*false/);
  });

  it("serves the Scalar script itself, cached for a year and revalidated by ETag", async () => {
    const html = await (await get("/_tollgate/docs")).text();
    const script = urlsOf(html).find((u) => u.startsWith("/_tollgate/docs/assets/"))!;
    const res = await get(script);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const body = await res.text();
    expect(body.length).toBeGreaterThan(1_000_000);
    expect(body).toContain("createApiReference");
    const etag = res.headers.get("etag");
    expect(etag).toMatch(/^"scalar-\d+\.\d+\.\d+"$/);
    const again = await get(script, { headers: { "If-None-Match": etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  it("answers an unknown asset with not-found", async () => {
    const res = await get("/_tollgate/docs/assets/nope.js");
    expect(res.status).toBe(404);
    expect((await res.json<{ type: string }>()).type).toBe("urn:tollgate:problem:not-found");
  });
});

describe("openapi.json", () => {
  it("documents the public endpoints too", async () => {
    const ids = (await operations()).map((o) => o.operationId);
    expect(ids).toEqual(expect.arrayContaining(["getHealth", "getOpenApi", "getDocs", "getDocsScript", "quote", "getOwnUsage"]));
  });

  it("gives every operation a unique operationId", async () => {
    const ops = await operations();
    expect(ops.length).toBeGreaterThan(20);
    expect(ops.filter((o) => !o.operationId).map((o) => o.name), "operations without an operationId").toEqual([]);
    const seen = new Map<string, string[]>();
    for (const o of ops) if (o.operationId) seen.set(o.operationId, [...(seen.get(o.operationId) ?? []), o.name]);
    expect([...seen].filter(([, names]) => names.length > 1), "operationIds used more than once").toEqual([]);
  });
});
