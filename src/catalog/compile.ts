// Routes compiled once per catalog version into a segment trie. Lookup walks literal, then
// `:param`, then `*` children, so the first match found is the most specific path
// (CONTRACT §2); at a leaf an explicit method wins over `*`.
import type { Catalog } from "./schema";
import { parseRoute } from "./route";

interface Node {
  literal: Map<string, Node>;
  param?: Node;
  end: Map<string, string>; // method → surface, routes ending here
  rest: Map<string, string>; // method → surface, routes ending with "*" here
}

const node = (): Node => ({ literal: new Map(), end: new Map(), rest: new Map() });

export interface Matcher {
  match(method: string, path: string): string | null;
}

export function compileRoutes(catalog: Pick<Catalog, "surfaces">): Matcher {
  const root = node();
  for (const [surfaceId, surface] of Object.entries(catalog.surfaces)) {
    for (const source of surface.routes) {
      const route = parseRoute(source);
      if (typeof route === "string") throw new Error(route); // schema validation rejects these first
      let at = root;
      for (const segment of route.segments) {
        if (segment.kind === "rest") {
          at.rest.set(route.method, surfaceId);
          break;
        }
        if (segment.kind === "param") at = at.param ??= node();
        else {
          let next = at.literal.get(segment.value);
          if (!next) at.literal.set(segment.value, (next = node()));
          at = next;
        }
      }
      if (route.segments.at(-1)?.kind !== "rest") at.end.set(route.method, surfaceId);
    }
  }

  // HEAD is served by GET routes, as HTTP servers do.
  const pick = (methods: Map<string, string>, method: string) =>
    methods.get(method) ?? (method === "HEAD" ? methods.get("GET") : undefined) ?? methods.get("*") ?? null;

  const walk = (at: Node, segments: string[], i: number, method: string): string | null => {
    if (i === segments.length) return pick(at.end, method);
    const segment = segments[i]!;
    const literal = at.literal.get(segment);
    const found = (literal && walk(literal, segments, i + 1, method)) ?? (at.param && walk(at.param, segments, i + 1, method)) ?? null;
    return found ?? pick(at.rest, method);
  };

  return {
    match(method, path) {
      const segments = path.slice(1).split("/");
      return walk(root, segments, 0, method.toUpperCase());
    },
  };
}
