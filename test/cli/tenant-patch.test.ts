// What `tenants update` flags mean as a merge patch, and how the patch is checked against the
// Worker's own TenantPatch schema before anything is sent.
import { describe, expect, test } from "vitest";
import { applyTenantPatch, BadFlag, mergePatchOf, overrideAssignment, overrideRemoval, patchFlag } from "../../cli/tenant-patch";

const tenant = {
  id: "acme",
  name: "Acme",
  kind: "customer",
  plan: "growth",
  addons: ["bulk.export"],
  overrides: {
    "records.write": { quota: { limit: 100, period: "day", overage: "block" }, rate: { limit: 5, window: 1 } },
    "events.feed": { concurrency: 3 },
  },
  status: "active",
  billing: null,
  createdAt: "2026-11-01T00:00:00.000Z",
  updatedAt: "2026-11-01T00:00:00.000Z",
  surfaces: { "events.feed": { rule: "included", unit: "event" } },
};

describe("override flags", () => {
  test("SURFACE.FIELD=JSON splits at the last dot: surface ids contain dots", () => {
    expect(overrideAssignment('records.write.quota={"limit":9000,"period":"day"}')).toEqual({ overrides: { "records.write": { quota: { limit: 9000, period: "day" } } } });
    expect(overrideAssignment("events.feed.concurrency=4")).toEqual({ overrides: { "events.feed": { concurrency: 4 } } });
  });

  test.each(["records.write", "records.write.colour=1", "records.write.quota={nope", ".quota=1", "records.write.quota=null"])("%s is refused", (text) => {
    expect(() => overrideAssignment(text)).toThrow(BadFlag);
  });

  test("removal of a whole surface, or of one field", () => {
    expect(overrideRemoval("records.write")).toEqual({ overrides: { "records.write": null } });
    expect(overrideRemoval("records.write.quota")).toEqual({ overrides: { "records.write": { quota: null } } });
    expect(() => overrideRemoval("")).toThrow(BadFlag);
  });

  test("--patch must be a JSON object", () => {
    expect(patchFlag('{"addons":[]}')).toEqual({ addons: [] });
    expect(() => patchFlag("[1]")).toThrow(BadFlag);
    expect(() => patchFlag("{")).toThrow(BadFlag);
  });
});

describe("mergePatchOf", () => {
  test("flags apply over --patch; removals before assignments", () => {
    expect(
      mergePatchOf({
        patch: { plan: "starter", addons: [] },
        plan: "growth",
        setOverride: [overrideAssignment("records.write.rate={\"limit\":1,\"window\":1}")],
        removeOverride: [overrideRemoval("records.write"), overrideRemoval("events.feed.concurrency")],
      }),
    ).toEqual({ plan: "growth", addons: [], overrides: { "records.write": { rate: { limit: 1, window: 1 } }, "events.feed": { concurrency: null } } });
  });

  test("no flags is an empty patch", () => {
    expect(mergePatchOf({})).toEqual({});
  });
});

describe("applyTenantPatch", () => {
  test("a quota change keeps the surface's other overrides and the other surfaces", () => {
    const patch = mergePatchOf({ setOverride: [overrideAssignment('records.write.quota={"limit":9000,"period":"day","overage":"bill"}')] });
    const outcome = applyTenantPatch(tenant, patch);
    expect(outcome.issues).toEqual([]);
    expect(outcome.after.overrides).toEqual({
      "records.write": { quota: { limit: 9000, period: "day", overage: "bill" }, rate: { limit: 5, window: 1 } },
      "events.feed": { concurrency: 3 },
    });
    // RFC 7396 merges nested objects too, so each member of the quota is a change of its own.
    expect(outcome.changes.map((c) => [c.path, c.before, c.after])).toEqual([
      ["/overrides/records.write/quota/limit", 100, 9000],
      ["/overrides/records.write/quota/period", "day", "day"],
      ["/overrides/records.write/quota/overage", "block", "bill"],
    ]);
    expect(outcome.after).not.toHaveProperty("surfaces");
  });

  test("a partial quota keeps the quota's other members", () => {
    const outcome = applyTenantPatch(tenant, mergePatchOf({ setOverride: [overrideAssignment('records.write.quota={"limit":7}')] }));
    expect(outcome.after.overrides).toMatchObject({ "records.write": { quota: { limit: 7, period: "day", overage: "block" } } });
  });

  test("removing a surface's overrides shows what goes", () => {
    const outcome = applyTenantPatch(tenant, mergePatchOf({ removeOverride: [overrideRemoval("events.feed")], plan: "starter" }));
    expect(outcome.changes).toEqual([
      { path: "/plan", members: ["plan"], before: "growth", after: "starter" },
      { path: "/overrides/events.feed", members: ["overrides", "events.feed"], before: { concurrency: 3 }, after: undefined },
    ]);
  });

  test("the Worker's TenantPatch refuses what the gateway would", () => {
    expect(applyTenantPatch(tenant, { plan: null }).issues.map((i) => i.path)).toEqual(["/plan"]);
    expect(applyTenantPatch(tenant, { kind: "partner" }).issues.length).toBeGreaterThan(0);
    expect(applyTenantPatch(tenant, { status: "gone" }).issues.map((i) => i.path)).toEqual(["/status"]);
    const badQuota = applyTenantPatch(tenant, mergePatchOf({ setOverride: [overrideAssignment('records.write.quota={"limit":-1,"period":"day"}')] }));
    expect(badQuota.issues.map((i) => i.path)).toEqual(["/overrides/records.write/quota/limit"]);
    // Removing the name is allowed: it is nullable.
    expect(applyTenantPatch(tenant, { name: null }).issues).toEqual([]);
  });
});
