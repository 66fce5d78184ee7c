// What a new catalog changes, structurally, and which tenants it would strand (CONTRACT §9).
// One pure function each, shared by `PUT /catalog?dryRun=true`, `GET /catalog/diff`, the
// `tollgate catalog diff` CLI command and the dashboard, so they can never disagree.
import type { Catalog } from "./schema";
import { pointerOf } from "./schema";

/** What a change is about, so a reader can group and filter them. */
export type ChangeSubject = "currency" | "surface" | "route" | "meter" | "plan" | "plan-surface" | "rule" | "rate" | "quota" | "price" | "concurrency" | "admission" | "incentive" | "field";

export interface CatalogChange {
  op: "added" | "removed" | "changed";
  subject: ChangeSubject;
  /** JSON Pointer into the catalog, e.g. `/plans/free/surfaces/events.feed/quota`. */
  path: string;
  before?: unknown;
  after?: unknown;
}

export interface StrandedTenant {
  tenant: string;
  /** Why, one line each: its plan is gone, or an add-on or override names a surface that is gone. */
  reasons: { path: string; message: string }[];
}

/** The parts of a tenant that tie it to a catalog. */
export interface TenantTerms {
  id: string;
  plan: string;
  addons: readonly string[];
  overrides: Readonly<Record<string, unknown>>;
}

type Json = unknown;

function equal(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => equal(v, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, Json>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, Json>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && equal((a as Record<string, Json>)[k], (b as Record<string, Json>)[k]));
}

const keysOf = (...records: (Record<string, unknown> | undefined)[]) => [...new Set(records.flatMap((r) => Object.keys(r ?? {})))].sort();

/** Added, removed or changed, comparing two values as wholes (absent = undefined). */
function compare(out: CatalogChange[], subject: ChangeSubject, path: string, before: Json, after: Json): void {
  if (before === undefined && after === undefined) return;
  if (before === undefined) out.push({ op: "added", subject, path, after });
  else if (after === undefined) out.push({ op: "removed", subject, path, before });
  else if (!equal(before, after)) out.push({ op: "changed", subject, path, before, after });
}

const PLAN_SURFACE_SUBJECTS: Record<string, ChangeSubject> = {
  rule: "rule",
  rate: "rate",
  quota: "quota",
  price: "price",
  concurrency: "concurrency",
  admission: "admission",
  lease: "admission",
};

function diffSurfaces(out: CatalogChange[], before: Catalog["surfaces"], after: Catalog["surfaces"]): void {
  for (const id of keysOf(before, after)) {
    const path = pointerOf(["surfaces", id]);
    const b = before[id];
    const a = after[id];
    if (!b || !a) {
      compare(out, "surface", path, b, a);
      continue;
    }
    const routesBefore = new Set(b.routes);
    const routesAfter = new Set(a.routes);
    for (const r of b.routes) if (!routesAfter.has(r)) out.push({ op: "removed", subject: "route", path: `${path}/routes`, before: r });
    for (const r of a.routes) if (!routesBefore.has(r)) out.push({ op: "added", subject: "route", path: `${path}/routes`, after: r });
    for (const field of keysOf(b, a)) {
      if (field === "routes") continue;
      compare(out, field === "meter" ? "meter" : "field", `${path}/${field}`, (b as Record<string, Json>)[field], (a as Record<string, Json>)[field]);
    }
  }
}

function diffPlans(out: CatalogChange[], before: Catalog["plans"], after: Catalog["plans"]): void {
  for (const id of keysOf(before, after)) {
    const path = pointerOf(["plans", id]);
    const b = before[id];
    const a = after[id];
    if (!b || !a) {
      compare(out, "plan", path, b, a);
      continue;
    }
    for (const surface of keysOf(b.surfaces, a.surfaces)) {
      const sp = pointerOf(["plans", id, "surfaces", surface]);
      const bs = b.surfaces[surface];
      const as = a.surfaces[surface];
      if (!bs || !as) {
        compare(out, "plan-surface", sp, bs, as);
        continue;
      }
      for (const field of keysOf(bs, as)) {
        compare(out, PLAN_SURFACE_SUBJECTS[field] ?? "field", `${sp}/${field}`, (bs as Record<string, Json>)[field], (as as Record<string, Json>)[field]);
      }
    }
    for (const name of keysOf(b.incentives, a.incentives)) {
      compare(out, "incentive", pointerOf(["plans", id, "incentives", name]), (b.incentives as Record<string, Json>)[name], (a.incentives as Record<string, Json>)[name]);
    }
    for (const field of keysOf(b, a)) {
      if (field === "surfaces" || field === "incentives") continue;
      compare(out, "field", pointerOf(["plans", id, field]), (b as Record<string, Json>)[field], (a as Record<string, Json>)[field]);
    }
  }
}

/**
 * Every structural change from `before` to `after`: surfaces, routes, meters, plans, a plan's
 * surfaces and each of their terms, incentives, currency; ordered by path. `before` null (no
 * catalog yet) makes every surface and plan "added". Identical catalogs give [].
 */
export function diffCatalogs(before: Catalog | null, after: Catalog): CatalogChange[] {
  const out: CatalogChange[] = [];
  if (before === null) {
    compare(out, "currency", "/currency", undefined, after.currency);
    diffSurfaces(out, {}, after.surfaces);
    diffPlans(out, {}, after.plans);
    return out;
  }
  compare(out, "currency", "/currency", before.currency, after.currency);
  diffSurfaces(out, before.surfaces, after.surfaces);
  diffPlans(out, before.plans, after.plans);
  for (const field of keysOf(before, after)) {
    if (field === "currency" || field === "surfaces" || field === "plans") continue;
    compare(out, "field", `/${field}`, (before as Record<string, Json>)[field], (after as Record<string, Json>)[field]);
  }
  return out;
}

/**
 * Tenants the catalog would leave on terms it no longer has: a plan that is gone, or an add-on or
 * override naming a surface that is gone. (A surface a plan stops listing is not stranding: it is
 * prohibited for that plan, which is a price decision the diff shows.)
 */
export function strandedTenants(catalog: Catalog, tenants: readonly TenantTerms[]): StrandedTenant[] {
  const out: StrandedTenant[] = [];
  for (const t of tenants) {
    const reasons: StrandedTenant["reasons"] = [];
    if (!Object.hasOwn(catalog.plans, t.plan)) reasons.push({ path: "/plan", message: `plan "${t.plan}" is not in the catalog` });
    t.addons.forEach((s, i) => {
      if (!Object.hasOwn(catalog.surfaces, s)) reasons.push({ path: `/addons/${i}`, message: `add-on surface "${s}" is not in the catalog` });
    });
    for (const s of Object.keys(t.overrides)) {
      if (!Object.hasOwn(catalog.surfaces, s)) reasons.push({ path: pointerOf(["overrides", s]), message: `override of surface "${s}", which is not in the catalog` });
    }
    if (reasons.length > 0) out.push({ tenant: t.id, reasons });
  }
  return out;
}

/** One line per change, for people (the CLI's table and the dashboard use the same words). */
export function describeChange(c: CatalogChange): string {
  const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v));
  if (c.op === "added") return `+ ${c.subject} ${c.path}${c.subject === "route" ? ` ${show(c.after)}` : c.after !== undefined && typeof c.after !== "object" ? ` = ${show(c.after)}` : ""}`;
  if (c.op === "removed") return `- ${c.subject} ${c.path}${c.subject === "route" ? ` ${show(c.before)}` : ""}`;
  return `~ ${c.subject} ${c.path}: ${show(c.before)} → ${show(c.after)}`;
}
