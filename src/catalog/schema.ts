// The catalog of CONTRACT §2 as zod schemas, plus the cross-checks a schema alone cannot express.
// Every problem in a submitted catalog is reported at once (`invalid-request` with `errors`).
import { z } from "@hono/zod-openapi";
import type { ValidationIssue } from "../problems";
import { MAX_MULTIPLIER, MAX_PRICE, MAX_PRICE_MICROS, MAX_PRICE_PER, MAX_UNITS_PER_REQUEST, MULTIPLIER_DECIMALS } from "../pricing/bounds";
import { isMoney, parseMoneyExact } from "../pricing/money";
import { parseRoute, routeKey } from "./route";

// Every number is bounded so that no charge, bucket or header computed from it can leave the
// safe integers (docs/catalog-bounds.md has the budget; src/pricing/bounds.ts the charge's part).

/** The largest integer a structured-field header (RateLimit, RateLimit-Policy) can carry. */
export const MAX_SF_INTEGER = 999_999_999_999_999;
export const MAX_QUOTA_LIMIT = MAX_SF_INTEGER;
/** Rate limit and burst; with MAX_RATE_WINDOW the slowest refill of a full bucket stays ≤ 2.7 × 10^14 s. */
export const MAX_RATE_LIMIT = 100_000_000;
/** The clock ticks in milliseconds, so a shorter window is no window (and limit/window stays finite). */
export const MIN_RATE_WINDOW = 0.001;
/** 31 days, the longest quota period: a longer allowance belongs in a quota. */
export const MAX_RATE_WINDOW = 2_678_400;
export const MAX_CONCURRENCY = 1_000_000;

const atMost = (max: number, what: string) => `must be at most ${max} (${what})`;

export const Money = z
  .string()
  .refine(isMoney, "must be a non-negative decimal string with at most 6 decimals, e.g. \"0.001\"")
  .openapi({ example: "0.001" });

/** A price per unit: money no larger than MAX_PRICE, so units × price × incentives stays exact. */
export const UnitPrice = Money.refine(
  (value) => !isMoney(value) || parseMoneyExact(value) <= BigInt(MAX_PRICE_MICROS),
  `must be at most "${MAX_PRICE}" (the largest unit price Tollgate charges exactly; see docs/catalog-bounds.md)`,
);

const FEW_DECIMALS = new RegExp(`^\\d+(\\.\\d{1,${MULTIPLIER_DECIMALS}})?$`);

const Multiplier = z
  .number()
  .nonnegative()
  .max(MAX_MULTIPLIER, atMost(MAX_MULTIPLIER, "a surcharge can at most double the cost"))
  // Read as the decimal it was written as (rounding.ts), so its digits must be few enough to be exact.
  .refine((m) => FEW_DECIMALS.test(String(m)), `must have at most ${MULTIPLIER_DECIMALS} decimals`);

export const MeterCount = z.discriminatedUnion("from", [
  z.strictObject({ from: z.literal("request") }),
  z.strictObject({
    from: z.literal("json-array"),
    pointer: z.string().regex(/^(\/.*)?$/, "must be a JSON Pointer (\"\" or starting with \"/\")"),
  }),
  z.strictObject({ from: z.literal("response-header"), name: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, "must be an HTTP header name") }),
  z.strictObject({ from: z.literal("response-bytes") }),
  /** CONTRACT §11: units the origin reports after the fact (POST /_tollgate/admin/usage/reports). */
  z.strictObject({ from: z.literal("reported") }),
]);
export type MeterCount = z.infer<typeof MeterCount>;

export const Meter = z.strictObject({
  // Control characters cannot travel in a header's `tg-unit` (any other character can, RFC 9651).
  unit: z.string().min(1).max(64).refine((u) => !/[\u0000-\u001f\u007f]/.test(u), "must not contain control characters"),
  count: MeterCount.default({ from: "request" }),
});
export type Meter = z.infer<typeof Meter>;

export const Surface = z.strictObject({
  description: z.string().optional(),
  routes: z.array(z.string()).min(1),
  /** Protocol upgrades its routes allow (issue 8: any other `Upgrade` is refused, never passed on). */
  upgrades: z.array(z.enum(["websocket"])).optional(),
  /** Who may call it on behalf of a customer (CONTRACT §7): partners too (default), only partners, or customers' own keys only. */
  delegation: z.enum(["allowed", "required", "forbidden"]).optional(),
  /** Lifecycle (issue 12): calls after `deprecatedAt` carry Deprecation/Sunset/Link; after `sunsetAt` they get 410 surface-sunset. */
  deprecatedAt: z.iso.datetime({ offset: true }).optional().openapi({ example: "2027-01-01T00:00:00Z" }),
  sunsetAt: z.iso.datetime({ offset: true }).optional().openapi({ example: "2027-06-30T00:00:00Z" }),
  link: z
    .url({ protocol: /^https?$/ })
    .optional()
    .openapi({ description: "where callers read about the deprecation and what replaces it", example: "https://docs.example.com/migrate/events-v2" }),
  meter: Meter.default({ unit: "request", count: { from: "request" } }),
});
export type Surface = z.infer<typeof Surface>;

const Tokens = z.number().int().positive().max(MAX_RATE_LIMIT, atMost(MAX_RATE_LIMIT, "tokens a rate bucket can hold"));

export const Rate = z.strictObject({
  limit: Tokens,
  window: z
    .number()
    .min(MIN_RATE_WINDOW, `must be at least ${MIN_RATE_WINDOW} (seconds; the clock counts milliseconds)`)
    .max(MAX_RATE_WINDOW, atMost(MAX_RATE_WINDOW, "seconds, 31 days; use a quota for longer")),
  burst: Tokens.optional(),
});
export type Rate = z.infer<typeof Rate>;

export const QuotaPeriod = z.enum(["hour", "day", "week", "month"]);
export type QuotaPeriod = z.infer<typeof QuotaPeriod>;

export const Quota = z.strictObject({
  limit: z.number().int().nonnegative().max(MAX_QUOTA_LIMIT, atMost(MAX_QUOTA_LIMIT, "the largest integer a RateLimit header can carry")),
  period: QuotaPeriod,
  overage: z.enum(["block", "bill"]).default("block"),
  /** Fractions of the limit that send a `quota.threshold` webhook once per period each (issue 12), e.g. [0.8, 1]. */
  alerts: z
    .array(z.number().gt(0).max(1))
    .max(10)
    .refine((a) => a.every((v, i) => i === 0 || a[i - 1]! < v), "must be increasing fractions in (0, 1]")
    .optional(),
});
export type Quota = z.infer<typeof Quota>;

export const Price = z.strictObject({
  unit: UnitPrice,
  overage: UnitPrice.optional(),
  /** The prices are for this many units (e.g. 1000000000 bytes: per GB), so tiny unit prices stay exact. */
  per: z.number().int().min(1).max(MAX_PRICE_PER, atMost(MAX_PRICE_PER, "units a price may be for")).optional(),
});
export type Price = z.infer<typeof Price>;

export const Rule = z.enum(["included", "metered", "premium", "prohibited"]);
export type Rule = z.infer<typeof Rule>;

export const Concurrency = z.number().int().positive().max(MAX_CONCURRENCY, atMost(MAX_CONCURRENCY, "requests in flight"));

/** CONTRACT §6: how many permits an isolate may hold at once, and for how long. */
export const Lease = z.strictObject({
  permits: z.number().int().min(1).max(10_000).default(20),
  seconds: z.number().min(0.1).max(60).default(2),
});
export type Lease = z.infer<typeof Lease>;

export const PlanSurface = z.strictObject({
  rule: Rule,
  rate: Rate.optional(),
  quota: Quota.optional(),
  price: Price.optional(),
  concurrency: Concurrency.optional(),
  /** CONTRACT §6: `strict` (default) asks the limiter for every request; `leased` serves most from permits an isolate holds. */
  admission: z.enum(["strict", "leased"]).optional(),
  /** Issue 12: "shadow" evaluates every limit and refuses nothing (Tollgate-Shadow, shadowRefusals); default "enforce". */
  enforce: z.enum(["enforce", "shadow"]).optional(),
  lease: Lease.optional(),
});
export type PlanSurface = z.infer<typeof PlanSurface>;

export const Incentives = z.strictObject({
  "idempotency-key": Multiplier.optional(),
  batch: z
    .strictObject({
      minUnits: z
        .number()
        .int()
        .positive()
        .max(MAX_UNITS_PER_REQUEST, atMost(MAX_UNITS_PER_REQUEST, "the most units one request is charged for; a larger minimum never applies")),
      multiplier: Multiplier,
    })
    .optional(),
  conditional: Multiplier.optional(),
});
export type Incentives = z.infer<typeof Incentives>;

export const Plan = z.strictObject({
  description: z.string().optional(),
  surfaces: z.record(z.string(), PlanSurface),
  incentives: Incentives.default({}),
});
export type Plan = z.infer<typeof Plan>;

const SurfaceId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "surface ids are 1–64 of A-Z a-z 0-9 . _ -");

export const Catalog = z
  .strictObject({
    currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD"),
    surfaces: z.record(SurfaceId, Surface),
    plans: z.record(z.string().min(1).max(64), Plan),
  })
  .openapi("Catalog");
export type Catalog = z.infer<typeof Catalog>;
export type CatalogInput = z.input<typeof Catalog>;

/** JSON Pointer of a zod issue path, e.g. ["plans","free"] → "/plans/free". */
export function pointerOf(path: readonly PropertyKey[]): string {
  return path.map((p) => "/" + String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}

export function issuesOf(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((i) => ({ path: pointerOf(i.path), message: i.message }));
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks that span more than one field. They read the raw input defensively so that they run
 * even when the schema itself fails, and every problem is reported together.
 */
export function crossCheck(input: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!isRecord(input)) return issues;
  const surfaces = isRecord(input.surfaces) ? input.surfaces : {};

  const owners = new Map<string, string>();
  for (const [surfaceId, surface] of Object.entries(surfaces)) {
    if (isRecord(surface) && typeof surface.deprecatedAt === "string" && typeof surface.sunsetAt === "string" && Date.parse(surface.sunsetAt) < Date.parse(surface.deprecatedAt)) {
      issues.push({ path: pointerOf(["surfaces", surfaceId, "sunsetAt"]), message: "must not be before deprecatedAt" });
    }
    if (!isRecord(surface) || !Array.isArray(surface.routes)) continue;
    surface.routes.forEach((route, i) => {
      const path = pointerOf(["surfaces", surfaceId, "routes", i]);
      if (typeof route !== "string") return;
      const parsed = parseRoute(route);
      if (typeof parsed === "string") return void issues.push({ path, message: parsed });
      const key = routeKey(parsed);
      const owner = owners.get(key);
      if (owner !== undefined) {
        issues.push({ path, message: `route "${route}" is already claimed by surface "${owner}"` });
      } else owners.set(key, surfaceId);
    });
  }

  const plans = isRecord(input.plans) ? input.plans : {};
  for (const [planId, plan] of Object.entries(plans)) {
    if (!isRecord(plan) || !isRecord(plan.surfaces)) continue;
    for (const [surfaceId, entry] of Object.entries(plan.surfaces)) {
      const path = pointerOf(["plans", planId, "surfaces", surfaceId]);
      if (!Object.hasOwn(surfaces, surfaceId)) {
        issues.push({ path, message: `plan "${planId}" names unknown surface "${surfaceId}"` });
      }
      if (!isRecord(entry)) continue;
      if ((entry.rule === "metered" || entry.rule === "premium") && !isRecord(entry.price)) {
        issues.push({ path: `${path}/price`, message: `a ${entry.rule} surface needs a price` });
      }
      if (entry.admission === "leased") issues.push(...leaseRefusals(path, entry, surfaces[surfaceId]));
      if (entry.admission === "leased" && entry.enforce === "shadow") issues.push({ path: `${path}/enforce`, message: "a shadow surface is admitted strictly: every limit is evaluated for every request" });
    }
  }
  return issues;
}

/** CONTRACT §6: where leased admission cannot keep its promises, the catalog says why. */
function leaseRefusals(path: string, entry: Record<string, unknown>, surface: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (entry.concurrency !== undefined) {
    issues.push({ path: `${path}/admission`, message: "leased admission cannot apply with `concurrency`: in-flight requests are only counted by the limiter" });
  }
  const count = isRecord(surface) && isRecord(surface.meter) && isRecord(surface.meter.count) ? surface.meter.count.from : "request";
  const outcome = count === "response-header" || count === "response-bytes" || count === "reported";
  const blocks = isRecord(entry.quota) && entry.quota.overage !== "bill";
  if (outcome && blocks) {
    issues.push({ path: `${path}/admission`, message: "leased admission cannot apply to units measured from the response with `overage: block`: no permit can be pre-debited for them" });
  }
  return issues;
}

export type CatalogParse = { ok: true; catalog: Catalog } | { ok: false; errors: ValidationIssue[] };

export function parseCatalog(input: unknown): CatalogParse {
  const result = Catalog.safeParse(input);
  const errors = [...(result.success ? [] : issuesOf(result.error)), ...crossCheck(input)];
  if (errors.length > 0 || !result.success) return { ok: false, errors };
  return { ok: true, catalog: result.data };
}
