// RFC 7396 as the CLI applies it for `tenants update --dry-run`: every example of the RFC's
// Appendix A, and the combination of several flags into one patch.
import { describe, expect, test } from "vitest";
import { applyMergePatch, combinePatches, type Json, patchedPaths, pointer, valueAt } from "../../cli/merge-patch";

describe("applyMergePatch", () => {
  // RFC 7396 Appendix A: [original, patch, result].
  const appendixA: [Json, Json, Json][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  test.each(appendixA)("%j patched with %j is %j", (original, patch, result) => {
    expect(applyMergePatch(original, patch)).toEqual(result);
  });

  test("leaves the target as it was", () => {
    const target = { overrides: { "records.write": { quota: { limit: 1 }, rate: { limit: 2 } } } };
    const copy = structuredClone(target);
    applyMergePatch(target, { overrides: { "records.write": { quota: null } } });
    expect(target).toEqual(copy);
  });
});

describe("combinePatches", () => {
  test("applying the combination equals applying one patch after the other", () => {
    const target: Json = { plan: "starter", overrides: { a: { rate: 1, quota: 2 }, b: { rate: 3 } } };
    const first: Json = { overrides: { a: { rate: 10 }, b: null } };
    const second: Json = { plan: "growth", overrides: { a: { quota: null }, c: { price: 4 } } };
    expect(applyMergePatch(target, combinePatches(first, second))).toEqual(applyMergePatch(applyMergePatch(target, first), second));
    expect(combinePatches(first, second)).toEqual({ plan: "growth", overrides: { a: { rate: 10, quota: null }, b: null, c: { price: 4 } } });
  });

  test("a later value replaces an earlier one wholesale", () => {
    expect(combinePatches({ a: { b: 1 } }, { a: 2 })).toEqual({ a: 2 });
    expect(combinePatches({ a: 2 }, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
  });
});

describe("paths a patch touches", () => {
  test("descends into objects (they merge), stops at values that replace, keeps removals", () => {
    expect(patchedPaths({ plan: "x", addons: ["a"], overrides: { "records.write": { quota: { limit: 9 } }, "events.feed": null } })).toEqual([
      ["plan"],
      ["addons"],
      ["overrides", "records.write", "quota", "limit"],
      ["overrides", "events.feed"],
    ]);
  });

  test("valueAt and pointer", () => {
    const doc: Json = { overrides: { "a/b": { "c~d": 1 } } };
    expect(valueAt(doc, ["overrides", "a/b", "c~d"])).toBe(1);
    expect(valueAt(doc, ["overrides", "missing", "x"])).toBeUndefined();
    expect(pointer(["overrides", "a/b", "c~d"])).toBe("/overrides/a~1b/c~0d");
  });
});
