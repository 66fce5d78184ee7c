// "METHOD /path" routes of CONTRACT §2: `:name` matches one segment, a final `*` the rest.

export type Segment = { kind: "literal"; value: string } | { kind: "param"; name: string } | { kind: "rest" };

export interface Route {
  source: string;
  method: string; // upper case, or "*"
  segments: Segment[];
}

/** The methods a route may name (issue 10: an unknown method is an error, not a route that never matches). */
export const ROUTE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY"] as const;
const METHODS = new Set<string>([...ROUTE_METHODS, "*"]);

/** A parsed route, or a message saying what is wrong with it. */
export function parseRoute(source: string): Route | string {
  const match = /^(\S+) (\/\S*)$/.exec(source);
  if (!match) return `route "${source}" must be "METHOD /path"`;
  const [, method = "", path = ""] = match;
  if (!METHODS.has(method)) {
    const hint = METHODS.has(method.toUpperCase()) ? ` (methods are written in upper case: "${method.toUpperCase()}")` : ` (one of ${ROUTE_METHODS.join(", ")}, or * for any)`;
    return `route "${source}" has an unknown method "${method}"${hint}`;
  }
  const parts = path.slice(1).split("/");
  const segments: Segment[] = [];
  for (const [i, part] of parts.entries()) {
    if (part === "*") {
      if (i !== parts.length - 1) return `route "${source}": "*" may only be the last segment`;
      segments.push({ kind: "rest" });
    } else if (part.startsWith(":")) {
      if (!/^:[A-Za-z_][A-Za-z0-9_]*$/.test(part)) return `route "${source}" has an invalid parameter "${part}"`;
      segments.push({ kind: "param", name: part.slice(1) });
    } else {
      segments.push({ kind: "literal", value: part });
    }
  }
  return { source, method, segments };
}

/** Two routes with the same key match exactly the same requests (parameter names do not count). */
export function routeKey(route: Route): string {
  const path = route.segments.map((s) => (s.kind === "literal" ? `=${s.value}` : s.kind === "param" ? ":" : "*"));
  return `${route.method} ${path.join("/")}`;
}
