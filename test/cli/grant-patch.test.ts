// What `grants create|update` flags mean, and how `grants update` computes and checks the merge
// patch before anything is sent.
import { describe, expect, test } from "vitest";
import { applyGrantPatch, expiresOrNoneFlag, grantPatchOf, isFinal, shareOrNoneFlag, surfacesFlag } from "../../cli/grant-patch";
import { BadFlag } from "../../cli/tenant-patch";

const grant = {
  id: "grt_1",
  partner: "appco",
  customer: "acme",
  surfaces: ["events.feed"],
  payer: "customer",
  share: "0.2",
  status: "active",
  expiresAt: null,
  requestedBy: "admin",
  createdAt: "2026-11-01T00:00:00.000Z",
  updatedAt: "2026-11-01T00:00:00.000Z",
};

describe("flags", () => {
  test("--surfaces: a list, or '*' alone", () => {
    expect(surfacesFlag("events.feed, records.write,events.feed")).toEqual(["events.feed", "records.write"]);
    expect(surfacesFlag("*")).toBe("*");
    for (const bad of ["", " , ", "*,events.feed"]) expect(() => surfacesFlag(bad)).toThrow(BadFlag);
  });

  test("--share: a fraction in [0, 1] kept as its decimal string; none removes", () => {
    expect(shareOrNoneFlag("0.2")).toBe("0.2");
    expect(shareOrNoneFlag("1")).toBe("1");
    expect(shareOrNoneFlag("0")).toBe("0");
    expect(shareOrNoneFlag("none")).toBeNull();
    for (const bad of ["1.5", "-0.1", "20%", "0.1234567", "abc"]) expect(() => shareOrNoneFlag(bad)).toThrow(BadFlag);
  });

  test("--expires-at: an ISO date or instant, as UTC; none clears", () => {
    expect(expiresOrNoneFlag("2027-01-01")).toBe("2027-01-01T00:00:00.000Z");
    expect(expiresOrNoneFlag("2027-01-01T02:00:00+02:00")).toBe("2027-01-01T00:00:00.000Z");
    expect(expiresOrNoneFlag("none")).toBeNull();
    for (const bad of ["tomorrow", "2027-13-01", "2027-01-01T00:00"]) expect(() => expiresOrNoneFlag(bad)).toThrow(BadFlag);
  });
});

describe("the merge patch of `grants update`", () => {
  test("only the flags given; --approve sets status active", () => {
    expect(grantPatchOf({ share: "0.3" })).toEqual({ share: "0.3" });
    expect(grantPatchOf({ surfaces: "*", payer: "partner", share: null, expiresAt: null, approve: true })).toEqual({
      surfaces: "*",
      payer: "partner",
      share: null,
      expiresAt: null,
      status: "active",
    });
    expect(grantPatchOf({})).toEqual({});
  });

  test("before and after of each touched field; the surfaces list is replaced, not merged", () => {
    const outcome = applyGrantPatch(grant, { share: "0.3", surfaces: ["records.write"] });
    expect(outcome.issues).toEqual([]);
    expect(outcome.changes).toEqual([
      { path: "/share", members: ["share"], before: "0.2", after: "0.3" },
      { path: "/surfaces", members: ["surfaces"], before: ["events.feed"], after: ["records.write"] },
    ]);
    expect(outcome.after.surfaces).toEqual(["records.write"]);
    expect(outcome.after.partner).toBe("appco");
  });

  test("a share with the partner paying is refused, unless the share goes too", () => {
    const bad = applyGrantPatch(grant, { payer: "partner" });
    expect(bad.issues).toEqual([expect.objectContaining({ path: "/share" })]);
    expect(applyGrantPatch(grant, { payer: "partner", share: null }).issues).toEqual([]);
  });

  test("a zero share may stay with the partner paying (the gateway's rule is a non-zero share)", () => {
    expect(applyGrantPatch({ ...grant, share: "0" }, { payer: "partner" }).issues).toEqual([]);
  });

  test("a revoked or rejected grant is final", () => {
    expect(isFinal({ status: "revoked" })).toBe(true);
    expect(isFinal({ status: "rejected" })).toBe(true);
    expect(isFinal({ status: "pending" })).toBe(false);
    expect(isFinal({ status: "active" })).toBe(false);
  });

  test("a patch the API's GrantPatch refuses is reported by path", () => {
    const outcome = applyGrantPatch(grant, { share: "2" });
    expect(outcome.issues.map((i) => i.path)).toEqual(["/share"]);
  });
});
