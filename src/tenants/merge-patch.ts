// JSON Merge Patch (RFC 7396): objects merge member by member, `null` removes a member, any
// other value (arrays included) replaces; and the tenant a patch produces, checked in full. Pure:
// the gateway's PATCH /tenants/:id and the CLI's `tenants update --dry-run` share it.
import { issuesOf } from "../catalog/schema";
import type { ValidationIssue } from "../problems";
import { TenantTerms } from "./schema";

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

/** The patchable members of a tenant. */
export interface TenantDocument {
  name: string | null;
  plan: string;
  addons: string[];
  overrides: Record<string, unknown>;
  status: string;
  billing: unknown;
}

/**
 * The tenant `patch` makes of `before`: merged (RFC 7396), a surface whose every override was
 * removed left with none, absent members at their empty values, then checked by `TenantTerms`.
 */
export function patchedTerms(before: TenantDocument, patch: unknown): { ok: true; terms: TenantTerms } | { ok: false; errors: ValidationIssue[] } {
  const { name, plan, addons, overrides, status, billing } = before;
  const doc = mergePatch({ name, plan, addons, overrides, status, billing }, patch) as Record<string, unknown>;
  const merged = doc.overrides;
  const kept =
    typeof merged === "object" && merged !== null && !Array.isArray(merged)
      ? Object.fromEntries(Object.entries(merged).filter(([, fields]) => typeof fields !== "object" || fields === null || Object.keys(fields).length > 0))
      : merged;
  const result = TenantTerms.safeParse({ ...doc, name: doc.name ?? null, addons: doc.addons ?? [], overrides: kept ?? {}, billing: doc.billing ?? null });
  return result.success ? { ok: true, terms: result.data } : { ok: false, errors: issuesOf(result.error) };
}
