// Units counted from the origin's answer are clamped at MAX_COUNTED_UNITS, never thrown on; the
// policy's own bound (maxUnitsPerRequest(price.per)) is applied when it is charged (charge.test.ts).
import { describe, expect, it } from "vitest";
import type { Meter } from "../../src/catalog/schema";
import { MAX_COUNTED_UNITS } from "../../src/pricing/bounds";
import { responseUnits } from "../../src/pricing/meters";

const header: Meter = { unit: "event", count: { from: "response-header", name: "Events-Delivered" } };
const bytes: Meter = { unit: "byte", count: { from: "response-bytes" } };
const answer = (headers: Record<string, string>) => new Response("x", { headers });

describe("response-header units", () => {
  it("reads the count, clamps one above the maximum, and counts a missing or malformed header as 1", () => {
    expect(responseUnits(header, answer({ "Events-Delivered": "42" }))).toBe(42);
    expect(responseUnits(header, answer({ "Events-Delivered": ` ${MAX_COUNTED_UNITS} ` }))).toBe(MAX_COUNTED_UNITS);
    expect(responseUnits(header, answer({ "Events-Delivered": "1000000000" }))).toBe(1_000_000_000);
    for (const above of [String(MAX_COUNTED_UNITS + 1), "9999999999999999999", "9".repeat(400)]) {
      expect(responseUnits(header, answer({ "Events-Delivered": above })), above).toBe(MAX_COUNTED_UNITS);
    }
    for (const malformed of ["-5", "1e9", "12.5", "many", ""]) {
      expect(responseUnits(header, answer({ "Events-Delivered": malformed })), malformed).toBe(1);
    }
    expect(responseUnits(header, answer({}))).toBe(1);
  });
});

describe("response-bytes units", () => {
  it("takes Content-Length, clamped at the maximum", () => {
    expect(responseUnits(bytes, answer({ "Content-Length": "1500" }))).toBe(1500);
    expect(responseUnits(bytes, answer({ "Content-Length": "99999999999999999999" }))).toBe(MAX_COUNTED_UNITS);
    expect(responseUnits(bytes, new Response(null))).toBe(0);
  });
});
