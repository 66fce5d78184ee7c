// JSON Merge Patch (RFC 7396): objects merge member by member, `null` removes a member, any
// other value (arrays included) replaces. Pure; the result is validated by the caller's schema.

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete out[name];
    // defineProperty, so that a member named "__proto__" is a member, never the prototype.
    else Object.defineProperty(out, name, { value: mergePatch(out[name], value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
