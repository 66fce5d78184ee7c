// `grants create|update`: what their flags mean, the merge patch `update` sends, and the grant
// that patch makes, computed locally so it is checked and shown (`--dry-run`) before anything is
// sent. Pure, no node APIs.
import { issuesOf } from "../src/catalog/schema";
import type { ValidationIssue } from "../src/problems";
import { type Grant, GrantPatch, Share, sharePpm } from "../src/partners/schema";
import { applyMergePatch, type JsonObject, patchedPaths, pointer, valueAt } from "./merge-patch";
import { BadFlag } from "./tenant-patch";
import type { FieldChange } from "./tenant-patch";

export type { Grant };

/** `*` → every surface; `events.feed,records.write` → those surfaces (blanks and repeats dropped). */
export function surfacesFlag(text: string): string[] | "*" {
  if (text.trim() === "*") return "*";
  const surfaces = [...new Set(text.split(",").map((s) => s.trim()).filter((s) => s !== ""))];
  if (surfaces.length === 0) throw new BadFlag(`expected SURFACE[,SURFACE…] or '*', got "${text}"`);
  if (surfaces.includes("*")) throw new BadFlag("'*' means every surface: give it alone, not in a list");
  return surfaces;
}

/** A revenue share: a decimal fraction in [0, 1], kept as the decimal string the API takes. */
export function shareFlag(text: string): string {
  const checked = Share.safeParse(text);
  if (!checked.success) throw new BadFlag(`share "${text}" ${checked.error.issues[0]?.message ?? "is not valid"}`);
  return text;
}

/** `--share none` on update removes the share. */
export const shareOrNoneFlag = (text: string): string | null => (text === "none" ? null : shareFlag(text));

/** An ISO 8601 instant with its offset (a date alone means its midnight UTC); `none` clears it on update. */
export function expiresFlag(text: string): string {
  const instant = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(instant) || Number.isNaN(Date.parse(instant))) {
    throw new BadFlag(`"${text}" is not an ISO 8601 date or instant, e.g. 2027-01-01 or 2027-01-01T00:00:00Z`);
  }
  return new Date(instant).toISOString();
}
export const expiresOrNoneFlag = (text: string): string | null => (text === "none" ? null : expiresFlag(text));

export interface GrantUpdateFlags {
  surfaces?: string[] | "*" | undefined;
  payer?: string | undefined;
  share?: string | null | undefined;
  expiresAt?: string | null | undefined;
  approve?: boolean | undefined;
}

/** The JSON merge patch (RFC 7396) of the grant that the flags mean; `--approve` sets status `active`. */
export function grantPatchOf(flags: GrantUpdateFlags): JsonObject {
  const patch: JsonObject = {};
  if (flags.surfaces !== undefined) patch.surfaces = flags.surfaces;
  if (flags.payer !== undefined) patch.payer = flags.payer;
  if (flags.share !== undefined) patch.share = flags.share;
  if (flags.expiresAt !== undefined) patch.expiresAt = flags.expiresAt;
  if (flags.approve) patch.status = "active";
  return patch;
}

export interface GrantPatchOutcome {
  after: JsonObject;
  changes: FieldChange[];
  /** What the API's GrantPatch says of the patch, and the rules between fields of the grant it makes. */
  issues: ValidationIssue[];
}

/** The rule that spans fields (CONTRACT §7), on the grant as it would be: a share only when the customer pays. */
export function grantIssues(grant: JsonObject): ValidationIssue[] {
  const share = grant.share;
  if (typeof share === "string" && grant.payer !== "customer" && sharePpm(share) !== 0) {
    return [{ path: "/share", message: 'a share is paid only out of what the customer pays, so it needs payer "customer" (on update, --share none removes it)' }];
  }
  return [];
}

/** A revoked or rejected grant is final (the gateway answers 409): a new grant is needed. */
export const isFinal = (grant: Pick<Grant, "status">) => grant.status === "revoked" || grant.status === "rejected";

/** Applies the merge patch to the grant as read (with its ETag), as the gateway will, and checks it. */
export function applyGrantPatch(grant: JsonObject, patch: JsonObject): GrantPatchOutcome {
  const after = applyMergePatch(grant, patch) as JsonObject;
  // `surfaces` is an array or "*": it replaces, so it is one change however many surfaces it names.
  const changes = patchedPaths(patch).map((path) => ({ path: pointer(path), members: path, before: valueAt(grant, path), after: valueAt(after, path) }));
  const shape = GrantPatch.safeParse(patch);
  if (!shape.success) return { after, changes, issues: issuesOf(shape.error) };
  return { after, changes, issues: grantIssues(after) };
}

export const surfacesText = (s: Grant["surfaces"]) => (s === "*" ? "*" : s.join(","));
