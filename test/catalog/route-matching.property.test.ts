// The compiled matcher (src/catalog/compile.ts) against a slow reference written from CONTRACT §2
// Routes and the README: `:name` matches one segment, a final `*` one or more; the most specific
// path wins, position by position (literal > `:param` > `*`), then the method (explicit > `*`,
// with HEAD served by GET routes).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileRoutes } from "../../src/catalog/compile";
import { parseRoute, routeKey, type Route } from "../../src/catalog/route";

// A small alphabet, so that generated paths often match several routes at once.
const WORDS = ["a", "b", "c", ""] as const;
const METHODS = ["GET", "POST", "HEAD", "DELETE", "*"] as const;

const routeSource = fc
  .record({
    method: fc.constantFrom(...METHODS),
    parts: fc.array(fc.oneof({ arbitrary: fc.constantFrom(...WORDS), weight: 3 }, { arbitrary: fc.constantFrom(":id", ":name"), weight: 2 }), { maxLength: 4 }),
    rest: fc.boolean(),
  })
  .map(({ method, parts, rest }) => `${method} /${[...parts, ...(rest ? ["*"] : [])].join("/")}`);

const requestMethod = fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "get", "head");
const randomPath = fc.array(fc.constantFrom(...WORDS, "x"), { minLength: 1, maxLength: 6 }).map((segments) => `/${segments.join("/")}`);

/** A path the route matches: parameters and the rest filled from `fill`. */
function pathFor(route: Route, fill: string[], restLength: number): string {
  const segments: string[] = [];
  for (const [i, segment] of route.segments.entries()) {
    if (segment.kind === "literal") segments.push(segment.value);
    else if (segment.kind === "param") segments.push(fill[i % fill.length]!);
    else for (let j = 0; j < restLength; j++) segments.push(fill[(i + j) % fill.length]!);
  }
  return `/${segments.join("/")}`;
}

const KIND_RANK = { literal: 0, param: 1, rest: 2 } as const;

/** The reference: every matching route, ordered by the contract's rules, the first one's surface. */
function referenceMatch(routes: { surface: string; route: Route }[], method: string, path: string): string | null {
  const wanted = method.toUpperCase();
  const segments = path.slice(1).split("/");
  const methodRank = (m: string) => (m === wanted ? 0 : wanted === "HEAD" && m === "GET" ? 1 : m === "*" ? 2 : null);
  const pathMatches = (route: Route) => {
    for (const [i, s] of route.segments.entries()) {
      if (s.kind === "rest") return segments.length > i; // one or more segments
      if (i >= segments.length || (s.kind === "literal" && s.value !== segments[i])) return false;
    }
    return route.segments.length === segments.length;
  };
  const candidates = routes.filter(({ route }) => methodRank(route.method) !== null && pathMatches(route));
  candidates.sort((x, y) => {
    const [a, b] = [x.route.segments, y.route.segments];
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const diff = KIND_RANK[a[i]!.kind] - KIND_RANK[b[i]!.kind];
      if (diff !== 0) return diff;
    }
    return methodRank(x.route.method)! - methodRank(y.route.method)!;
  });
  return candidates[0]?.surface ?? null;
}

describe("route matching (property)", () => {
  it("answers what the reference answers, for generated route sets and paths", () => {
    let matched = 0;
    let contested = 0; // lookups where more than one route matched: specificity really decided
    fc.assert(
      fc.property(
        fc.array(routeSource, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(requestMethod, randomPath), { minLength: 5, maxLength: 5 }),
        fc.array(fc.constantFrom(...WORDS, "x"), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 1, max: 3 }),
        (sources, randomRequests, fill, restLength) => {
          // One surface per route; the catalog schema refuses two routes with the same key.
          const seen = new Set<string>();
          const routes: { surface: string; route: Route }[] = [];
          for (const source of sources) {
            const route = parseRoute(source);
            if (typeof route === "string") throw new Error(route);
            if (seen.has(routeKey(route))) continue;
            seen.add(routeKey(route));
            routes.push({ surface: `s${routes.length}`, route });
          }
          const matcher = compileRoutes({
            surfaces: Object.fromEntries(routes.map(({ surface, route }) => [surface, { routes: [route.source], meter: { unit: "request", count: { from: "request" } } }])),
          });
          const requests = [...randomRequests, ...routes.flatMap(({ route }) => ["GET", "HEAD", route.method === "*" ? "PATCH" : route.method].map((m) => [m, pathFor(route, fill, restLength)] as const))];
          for (const [method, path] of requests) {
            const expected = referenceMatch(routes, method, path);
            expect(matcher.match(method, path), `${method} ${path} against ${routes.map((r) => r.route.source).join(" | ")}`).toBe(expected);
            if (expected !== null) matched++;
            if (routes.filter((r) => referenceMatch([r], method, path) !== null).length > 1) contested++;
          }
        },
      ),
      { numRuns: 200, seed: 20_261_126 },
    );
    // The property is not vacuous: most lookups match, and many are contested.
    expect(matched).toBeGreaterThan(500);
    expect(contested).toBeGreaterThan(200);
  });
});
