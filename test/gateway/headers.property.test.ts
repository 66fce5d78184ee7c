// Structured-field round trips (CONTRACT §3): RateLimit-Policy / RateLimit parse back to the
// policies they were built from, and Idempotency-Key accepts exactly the sf-strings and tokens
// of 1–255 characters.
import fc from "fast-check";
import { parseList, serializeItem, type BareItem } from "structured-headers";
import { describe, expect, it } from "vitest";
import type { Meter } from "../../src/catalog/schema";
import { rateLimitHeaders } from "../../src/gateway/headers";
import { idempotencyKeyOf } from "../../src/gateway/idempotency";
import type { SurfaceLimits } from "../../src/limiter/tenant-limiter";
import { Problem } from "../../src/problems";

const RUNS = { numRuns: 200, seed: 20_261_126 };

// Seconds of each quota period's `w` (README, Limits: the nominal period).
const NOMINAL = { hour: 3_600, day: 86_400, week: 604_800, month: 2_592_000 } as const;

const count = (max: number) => fc.integer({ min: 0, max });

const limitsArb: fc.Arbitrary<SurfaceLimits> = fc.record({
  rate: fc.option(
    fc.record({
      limit: fc.integer({ min: 1, max: 1_000_000_000 }),
      window: fc.oneof(fc.integer({ min: 1, max: 86_400 }), fc.double({ min: 0.001, max: 86_400, noNaN: true })),
      remaining: count(1_000_000_000),
      reset: count(10_000_000),
    }),
    { nil: undefined },
  ),
  quota: fc.option(
    fc.record({
      limit: count(999_999_999_999),
      used: count(999_999_999_999),
      remaining: count(999_999_999_999),
      periodStart: fc.constant("2026-03-01T00:00:00.000Z"),
      periodEnd: fc.constant("2026-04-01T00:00:00.000Z"),
      reset: count(2_678_400),
      period: fc.constantFrom("hour", "day", "week", "month"),
    }),
    { nil: undefined },
  ),
  concurrency: fc.option(fc.record({ limit: fc.integer({ min: 1, max: 10_000 }), inFlight: count(20_000) }), { nil: undefined }),
  inFlight: count(20_000),
});

// Registered units by any spelling, and free words: printable ASCII with quotes, backslashes,
// commas, semicolons and spaces, which the serialisation must escape.
const unitArb = fc.oneof(
  fc.constantFrom("request", "Requests", "byte", "BYTES", "content-bytes", "event", "tg-unit", 'say "hi"', "a\\b", "x, y; z=1"),
  fc.string({ minLength: 1, maxLength: 64 }),
);

/** The `qu` / `tg-unit` parameters README (Limits) promises for a unit. */
function unitParameters(unit: string): [string, string][] {
  const word = unit.toLowerCase();
  if (word === "request" || word === "requests") return [];
  if (word === "byte" || word === "bytes" || word === "content-bytes") return [["qu", "content-bytes"]];
  return [["tg-unit", unit]];
}

/** A parsed list as [name, [parameter, value][]] pairs; throws on an inner list. */
function itemsOf(header: string | null): [BareItem, [string, BareItem][]][] {
  return parseList(header ?? "").map((member) => {
    if (Array.isArray(member[0])) throw new Error(`unexpected inner list in ${header}`);
    return [member[0] as BareItem, [...member[1]]];
  });
}

type Parsed = [string, [string, BareItem][]][];

/** The policies and states README (Limits) promises for `limits`. */
function expected(limits: SurfaceLimits, unit: string): { policies: Parsed; states: Parsed } {
  const policies: Parsed = [];
  const states: Parsed = [];
  if (limits.rate) {
    policies.push(["rate", [["q", limits.rate.limit], ["w", Math.max(1, Math.ceil(limits.rate.window))]]]);
    states.push(["rate", [["r", limits.rate.remaining], ["t", limits.rate.reset]]]);
  }
  if (limits.quota) {
    policies.push(["quota", [["q", limits.quota.limit], ["w", NOMINAL[limits.quota.period as keyof typeof NOMINAL]], ...unitParameters(unit)]]);
    states.push(["quota", [["r", limits.quota.remaining], ["t", limits.quota.reset]]]);
  }
  if (limits.concurrency) {
    policies.push(["concurrency", [["q", limits.concurrency.limit], ["qu", "concurrent-requests"]]]);
    states.push(["concurrency", [["r", Math.max(0, limits.concurrency.limit - limits.concurrency.inFlight)]]]);
  }
  return { policies, states };
}

describe("RateLimit-Policy and RateLimit (property)", () => {
  it("parse back to the names and parameters of the limits they were built from", () => {
    fc.assert(
      fc.property(limitsArb, unitArb, (limits, unit) => {
        const headers = rateLimitHeaders(limits, { unit, count: { from: "request" } });
        const { policies, states } = expected(limits, unit);
        if (policies.length === 0) {
          expect([headers.get("RateLimit-Policy"), headers.get("RateLimit")]).toEqual([null, null]);
          return;
        }
        expect(itemsOf(headers.get("RateLimit-Policy"))).toEqual(policies);
        expect(itemsOf(headers.get("RateLimit"))).toEqual(states);
      }),
      RUNS,
    );
  });

  // The policy value is kept per isolate by the limits' terms (issue 15): a plan change that
  // moves one term must show in the next answer, never the value served before it.
  it("after a plan change in any one term, give the new policy, not the one served before", () => {
    const full = limitsArb.filter((l) => l.rate !== undefined && l.quota !== undefined && l.concurrency !== undefined);
    const change = fc.constantFrom("rate.limit", "rate.window", "quota.limit", "quota.period", "unit", "concurrency.limit");
    fc.assert(
      fc.property(full, unitArb, change, (before, unit, term) => {
        rateLimitHeaders(before, { unit, count: { from: "request" } });
        const after: SurfaceLimits = { ...before, rate: { ...before.rate! }, quota: { ...before.quota! }, concurrency: { ...before.concurrency! } };
        let newUnit = unit;
        if (term === "rate.limit") after.rate!.limit += 1;
        if (term === "rate.window") after.rate!.window = Math.ceil(before.rate!.window) + 1;
        if (term === "quota.limit") after.quota!.limit += 1;
        if (term === "quota.period") after.quota!.period = before.quota!.period === "day" ? "week" : "day";
        if (term === "unit") newUnit = `${unit}-2`;
        if (term === "concurrency.limit") after.concurrency!.limit += 1;
        const headers = rateLimitHeaders(after, { unit: newUnit, count: { from: "request" } });
        expect(itemsOf(headers.get("RateLimit-Policy"))).toEqual(expected(after, newUnit).policies);
      }),
      RUNS,
    );
  });

  // An sf-string holds printable ASCII only: other units are sent as display strings (a unit
  // with control characters is refused by the catalog schema, test/catalog/schema.test.ts).
  it("gives headers for a unit outside printable ASCII, as a display string", () => {
    const limits: SurfaceLimits = { quota: { limit: 10, used: 0, remaining: 10, periodStart: "", periodEnd: "", reset: 60, period: "day" }, inFlight: 0 };
    for (const unit of ["événement", "件", "µs"]) {
      const policy = rateLimitHeaders(limits, { unit, count: { from: "request" } }).get("RateLimit-Policy")!;
      const [[, params]] = parseList(policy) as [[unknown, Map<string, unknown>]];
      expect(String(params.get("tg-unit"))).toBe(unit);
    }
  });
});

const keyOf = (header: string) => idempotencyKeyOf(new Headers({ "Idempotency-Key": header }));

/** The problem code `keyOf` throws, or null when it answers. */
function refusalOf(header: string): string | null {
  try {
    keyOf(header);
    return null;
  } catch (error) {
    if (error instanceof Problem) return error.code;
    throw error;
  }
}

// RFC 9651 §3.3.4: a token starts with ALPHA or "*", then tchar, ":" or "/".
const ALPHA = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"];
const TOKEN_CHARS = [...ALPHA, ..."0123456789!#$%&'*+-.^_`|~:/"];
const token = (minLength: number, maxLength: number) =>
  fc
    .tuple(fc.constantFrom(...ALPHA, "*"), fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: minLength - 1, maxLength: maxLength - 1 }))
    .map(([first, rest]) => first + rest);

describe("Idempotency-Key (property)", () => {
  it("round-trips a serialised sf-string of 1–255 printable characters", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 255 }), (key) => {
        expect(keyOf(serializeItem(key))).toBe(key);
      }),
      RUNS,
    );
  });

  it("round-trips a bare token of 1–255 characters", () => {
    fc.assert(
      fc.property(token(1, 255), (key) => {
        expect(keyOf(key)).toBe(key);
      }),
      RUNS,
    );
  });

  it("refuses longer keys, empty keys, other item types and malformed values with invalid-request", () => {
    const refused = fc.oneof(
      fc.string({ minLength: 256, maxLength: 400 }).map((s) => serializeItem(s)),
      token(256, 400),
      fc.constant('""'),
      fc.integer().map(String), // an sf-integer, as a bare numeric key parses
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((n) => n.toFixed(3)),
      fc.constantFrom("?1", "?0", ":YWJj:", '("a" "b")', "@1700000000"),
      fc.string({ minLength: 1, maxLength: 40 }).map((s) => `"${s.replaceAll('"', "").replaceAll("\\", "")}`), // unterminated
      fc.tuple(token(1, 20), fc.constantFrom(" x", ",y", "\\", '"', "\tz", "\x7f", "(", "@", "[1]")).map(([t, tail]) => t + tail),
    );
    fc.assert(
      fc.property(refused, (header) => {
        expect(refusalOf(header), header).toBe("invalid-request");
      }),
      RUNS,
    );
  });
});
