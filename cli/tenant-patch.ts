// `tenants update`: the merge patch its flags mean, and what it does to the tenant as read (with
// its ETag), so the change is checked and shown before it is sent. Pure, no node APIs.
import { issuesOf } from "../src/catalog/schema";
import { patchedTerms, type TenantDocument } from "../src/tenants/merge-patch";
import type { ValidationIssue } from "../src/problems";
import { SurfaceOverride, TenantPatch, TenantTerms } from "../src/tenants/schema";
import { applyMergePatch, combinePatches, isJsonObject, type Json, type JsonObject, patchedPaths, pointer, valueAt } from "./merge-patch";

/** rate, quota, price, concurrency: the fields a per-surface override may set. */
export const OVERRIDE_FIELDS: readonly string[] = Object.keys(SurfaceOverride.shape);

/** Thrown for a flag value that cannot mean anything; the command turns it into a usage error. */
export class BadFlag extends Error {}

function parseJson(text: string, what: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw new BadFlag(`${what} is not JSON (${(error as Error).message})`);
  }
}

/**
 * `records.write.quota={"limit":9000,"period":"day","overage":"bill"}` →
 * `{"overrides": {"records.write": {"quota": {...}}}}`. Surface ids contain dots, so the field is
 * what follows the LAST dot before `=`.
 */
export function overrideAssignment(text: string): JsonObject {
  const eq = text.indexOf("=");
  if (eq < 0) throw new BadFlag(`expected SURFACE.FIELD=JSON, e.g. records.write.quota='{"limit":9000,"period":"day"}'`);
  const target = text.slice(0, eq);
  const dot = target.lastIndexOf(".");
  const surface = target.slice(0, dot);
  const field = target.slice(dot + 1);
  if (dot <= 0 || !OVERRIDE_FIELDS.includes(field)) throw new BadFlag(`"${target}" must be SURFACE.FIELD with FIELD one of ${OVERRIDE_FIELDS.join(", ")}`);
  const value = parseJson(text.slice(eq + 1), `the value of ${target}`);
  if (value === null) throw new BadFlag(`use --remove-override ${target} to remove an override`);
  return { overrides: { [surface]: { [field]: value } } };
}

/** `records.write` → removes every override of the surface; `records.write.quota` → only that field. */
export function overrideRemoval(text: string): JsonObject {
  const dot = text.lastIndexOf(".");
  const field = text.slice(dot + 1);
  if (dot > 0 && OVERRIDE_FIELDS.includes(field)) return { overrides: { [text.slice(0, dot)]: { [field]: null } } };
  if (text === "") throw new BadFlag("expected SURFACE or SURFACE.FIELD");
  return { overrides: { [text]: null } };
}

export function patchFlag(text: string): JsonObject {
  const value = parseJson(text, "--patch");
  if (!isJsonObject(value)) throw new BadFlag("--patch must be a JSON object (a merge patch of the tenant)");
  return value;
}

export interface UpdateFlags {
  patch?: JsonObject | undefined;
  name?: string | undefined;
  plan?: string | undefined;
  status?: string | undefined;
  setOverride?: JsonObject[] | undefined;
  removeOverride?: JsonObject[] | undefined;
}

/** `--patch` first, then each flag over it in a fixed order; a later flag wins where they touch the same member. */
export function mergePatchOf(flags: UpdateFlags): JsonObject {
  let patch: Json = flags.patch ?? {};
  const scalars: JsonObject = {};
  if (flags.name !== undefined) scalars.name = flags.name;
  if (flags.plan !== undefined) scalars.plan = flags.plan;
  if (flags.status !== undefined) scalars.status = flags.status;
  for (const part of [scalars, ...(flags.removeOverride ?? []), ...(flags.setOverride ?? [])]) patch = combinePatches(patch, part);
  return patch as JsonObject;
}

export interface FieldChange {
  /** JSON Pointer into the tenant, e.g. `/overrides/records.write/quota`. */
  path: string;
  /** The same path as member names. */
  members: string[];
  before: Json | undefined;
  after: Json | undefined;
}

export interface PatchOutcome {
  after: JsonObject;
  /** Every member the patch touches, whether or not its value changes. */
  changes: FieldChange[];
  /** What TenantPatch (the Worker's own schema) says about the patched fields; empty when valid. */
  issues: ValidationIssue[];
}

/** The fields of a tenant answer that describe the tenant itself (not the effective `surfaces`). */
const ANSWER_ONLY = new Set(["surfaces"]);

/**
 * The terms a merge patch produces and what TenantTerms says of them — as the gateway's
 * `patched()` in src/tenants/store.ts does (a surface left with no override field has none).
 */
function termsIssues(after: JsonObject): ValidationIssue[] {
  // The gateway's own check of the tenant a patch makes (src/tenants/merge-patch.ts); `after` is already merged.
  const result = patchedTerms(after as unknown as TenantDocument, {});
  return result.ok ? [] : result.errors;
}

/** Applies `patch` to `tenant` as the gateway will (RFC 7396) and checks it with the gateway's schemas. */
export function applyTenantPatch(tenant: JsonObject, patch: JsonObject): PatchOutcome {
  const before: JsonObject = Object.fromEntries(Object.entries(tenant).filter(([k]) => !ANSWER_ONLY.has(k)));
  const after = applyMergePatch(before, patch) as JsonObject;
  const changes = patchedPaths(patch).map((path) => ({ path: pointer(path), members: path, before: valueAt(before, path), after: valueAt(after, path) }));
  // The patch's own shape first (only the members a patch may name), then the tenant it makes.
  const shape = TenantPatch.safeParse(patch);
  return { after, changes, issues: shape.success ? termsIssues(after) : issuesOf(shape.error) };
}
