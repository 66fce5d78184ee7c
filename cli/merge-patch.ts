// JSON Merge Patch (RFC 7396), as `PATCH /tenants/:id` applies it (CONTRACT §9), so
// `tenants update --dry-run` can show the outcome without asking the gateway to change anything.
// Pure functions; values are JSON (no undefined inside).
import { mergePatch } from "../src/tenants/merge-patch";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const isJsonObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * RFC 7396 §2 MergePatch(Target, Patch): objects merge per member, null removes, anything else
 * replaces. The Worker's own function (src/tenants/merge-patch.ts), so a dry run shows exactly what
 * `PATCH /tenants/:id` will do.
 */
export const applyMergePatch = (target: Json | undefined, patch: Json): Json => mergePatch(target, patch) as Json;

/**
 * One patch with the effect of applying `first` then `second` (the later flag wins), keeping the
 * nulls that remove members. Where `second` replaces a member wholesale, `first`'s part is dropped.
 */
export function combinePatches(first: Json, second: Json): Json {
  if (!isJsonObject(first) || !isJsonObject(second)) return second;
  const result: JsonObject = { ...first };
  for (const [name, value] of Object.entries(second)) {
    const earlier = result[name];
    result[name] = isJsonObject(earlier) && isJsonObject(value) ? combinePatches(earlier, value) : value;
  }
  return result;
}

/** The member paths a patch sets or removes (it does not descend into a value that replaces). */
export function patchedPaths(patch: Json, prefix: string[] = []): string[][] {
  if (!isJsonObject(patch)) return [prefix];
  const paths = Object.entries(patch).flatMap(([name, value]) => (isJsonObject(value) ? patchedPaths(value, [...prefix, name]) : [[...prefix, name]]));
  // An empty object patch changes nothing, but `{"overrides": {}}` still names what it touches.
  return paths.length === 0 && prefix.length > 0 ? [prefix] : paths;
}

/** The value at a member path, or undefined when a member on the way is absent. */
export function valueAt(doc: Json | undefined, path: readonly string[]): Json | undefined {
  let at: Json | undefined = doc;
  for (const name of path) {
    if (!isJsonObject(at) || !Object.hasOwn(at, name)) return undefined;
    at = at[name];
  }
  return at;
}

/** JSON Pointer (RFC 6901) of a member path. */
export const pointer = (path: readonly string[]) => path.map((p) => "/" + p.replaceAll("~", "~0").replaceAll("/", "~1")).join("");
