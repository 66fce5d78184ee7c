// `tollgate usage report`: the file is checked line by line before anything is sent, batches
// never exceed the endpoint's 1000, and each answer reads back with the lines it came from.
import { describe, expect, test } from "vitest";
import { CommandFailure } from "../../cli/errors";
import { batchesOf, batchLines, MAX_BATCH, parseEvents, totalLine } from "../../cli/usage-report";

function failure(run: () => unknown): CommandFailure {
  try {
    run();
  } catch (error) {
    if (error instanceof CommandFailure) return error;
    throw error;
  }
  throw new Error("expected a CommandFailure");
}

describe("parseEvents", () => {
  test("one event per line, blank lines and CRLF tolerated, line numbers kept", () => {
    const text = '{"id":"a","units":3,"tenant":"t","surface":"s"}\r\n\n{"id":"b","units":0,"requestId":"r1","time":"2026-11-01T00:00:00Z"}\n';
    expect(parseEvents(text, "f.ndjson")).toEqual([
      { line: 1, event: { id: "a", units: 3, tenant: "t", surface: "s" } },
      { line: 3, event: { id: "b", units: 0, requestId: "r1", time: "2026-11-01T00:00:00Z" } },
    ]);
  });

  test("a malformed line is a usage error (exit 2) naming the file and the line", () => {
    const cases: [string, RegExp][] = [
      ['{"id":"a","units":1}\n{"id":"b",', /^f\.ndjson:2: not JSON/],
      ['[{"id":"a","units":1}]', /^f\.ndjson:1: not a JSON object/],
      ['{"id":"a","units":1}\n\n{"units":1}', /^f\.ndjson:3: "id" must be a non-empty string/],
      ['{"id":"","units":1}', /^f\.ndjson:1: "id" must be/],
      ['{"id":"a","units":"3"}', /^f\.ndjson:1: "units" must be a number/],
      ['{"id":"a","units":1,"tenant":7}', /^f\.ndjson:1: "tenant" must be a string/],
      ['{"id":"a","unit":1}', /^f\.ndjson:1: unknown field "unit"/],
      // What the gateway's schema would refuse for the whole batch is caught here, per line.
      [`{"id":"${"x".repeat(256)}","units":1}`, /^f\.ndjson:1: \/id: /],
      ['{"id":"a","units":1,"time":"yesterday"}', /^f\.ndjson:1: \/time: /],
      ['{"id":"a","units":1,"time":"2026-11-01T00:00:00"}', /^f\.ndjson:1: \/time: /],
    ];
    for (const [text, message] of cases) {
      const error = failure(() => parseEvents(text, "f.ndjson"));
      expect(error.exitCode).toBe(2);
      expect(error.message).toMatch(message);
    }
  });

  test("numbers that are not valid units are left to the gateway (rejected per event, not the file)", () => {
    expect(parseEvents('{"id":"a","units":-1}\n{"id":"b","units":1.5}', "f").map((e) => e.event.units)).toEqual([-1, 1.5]);
  });
});

describe("batchesOf", () => {
  test("consecutive batches of at most the size, never more than 1000", () => {
    const items = Array.from({ length: 2501 }, (_, i) => i);
    const batches = batchesOf(items, MAX_BATCH);
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 501]);
    expect(batches.flat()).toEqual(items);
    expect(batchesOf([1, 2, 3], 2)).toEqual([[1, 2], [3]]);
    expect(() => batchesOf(items, 1001)).toThrow(RangeError);
    expect(() => batchesOf(items, 0)).toThrow(RangeError);
  });
});

describe("batchLines", () => {
  const batch = [
    { line: 4, event: { id: "job-1", units: 5, tenant: "t", surface: "s" } },
    { line: 5, event: { id: "job-2", units: 5, tenant: "t", surface: "s" } },
    { line: 7, event: { id: "job-3", units: 5, tenant: "nobody", surface: "s" } },
  ];

  test("counts, then each rejected event as `id: code — detail` with its line, then the duplicates", () => {
    const answer = { accepted: 1, duplicates: ["job-2"], rejected: [{ id: "job-3", code: "unknown-tenant", detail: "no tenant\n nobody" }] };
    expect(batchLines(2, batch, answer)).toEqual([
      "batch 2 (lines 4–7): 1 accepted, 1 duplicate, 1 rejected",
      "  job-3: unknown-tenant — no tenant nobody (line 7)",
      "  duplicates (already reported, counted once): job-2",
    ]);
    expect(totalLine([answer, { accepted: 3, duplicates: [], rejected: [] }], 6)).toBe("6 events in 2 batches: 4 accepted, 1 duplicate, 1 rejected");
  });
});
