// Surface lifecycle (issue 12): a surface past its `deprecatedAt` answers with Deprecation
// (RFC 9745), Sunset (RFC 8594) and Link rel="deprecation"; past its `sunsetAt` every call gets
// 410 surface-sunset. Parsed once per catalog and surface: the request path only compares numbers.
import type { Catalog } from "../catalog/schema";
import { problem } from "../problems";

export interface Lifecycle {
  deprecatedAt: number | null;
  sunsetAt: number | null;
  headers: [string, string][];
}

const cache = new WeakMap<Catalog, Map<string, Lifecycle | null>>();

function lifecycleOf(catalog: Catalog, surface: string): Lifecycle | null {
  let perSurface = cache.get(catalog);
  if (!perSurface) cache.set(catalog, (perSurface = new Map()));
  if (perSurface.has(surface)) return perSurface.get(surface)!;
  const entry = catalog.surfaces[surface];
  let found: Lifecycle | null = null;
  if (entry && (entry.deprecatedAt !== undefined || entry.sunsetAt !== undefined)) {
    const deprecatedAt = entry.deprecatedAt === undefined ? null : Date.parse(entry.deprecatedAt);
    const sunsetAt = entry.sunsetAt === undefined ? null : Date.parse(entry.sunsetAt);
    const headers: [string, string][] = [];
    if (deprecatedAt !== null) headers.push(["Deprecation", `@${Math.floor(deprecatedAt / 1000)}`]);
    if (sunsetAt !== null) headers.push(["Sunset", new Date(sunsetAt).toUTCString()]);
    if (entry.link !== undefined) headers.push(["Link", `<${entry.link}>; rel="deprecation"`]);
    found = { deprecatedAt, sunsetAt, headers };
  }
  perSurface.set(surface, found);
  return found;
}

/**
 * The headers a call to `surface` carries now (none before its deprecation), or 410
 * surface-sunset past its sunset. `deprecated` says the call is to a deprecated surface.
 */
export function checkLifecycle(catalog: Catalog, surface: string, now: number): { headers: [string, string][]; deprecated: boolean } | null {
  const life = lifecycleOf(catalog, surface);
  if (!life) return null;
  if (life.sunsetAt !== null && life.sunsetAt <= now) {
    throw problem("surface-sunset", { detail: `Surface "${surface}" was retired on ${new Date(life.sunsetAt).toISOString()}.`, headers: life.headers, surface });
  }
  if (life.deprecatedAt === null || life.deprecatedAt > now) return null;
  return { headers: life.headers, deprecated: true };
}
