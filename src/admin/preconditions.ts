// Safe changes (CONTRACT §9): entity tags on reads, `If-Match` on writes (RFC 9110 §13.1.1).
// A tag is strong and opaque to clients; here it names the revision a write would replace.
import { problem } from "../problems";

export const etagOf = (kind: "tenant" | "catalog" | "grant", revision: number | string): string => `"${kind}-${revision}"`;

/** The entity tags of an `If-Match` value; "*" matches any current representation. Weak tags never match (strong comparison). */
export function ifMatchTags(header: string | undefined | null): "*" | string[] | null {
  if (header === undefined || header === null) return null;
  const value = header.trim();
  if (value === "*") return "*";
  return [...value.matchAll(/(W\/)?("[^"]*")/g)].filter((m) => m[1] === undefined).map((m) => m[2]!);
}

/** Throws 412 precondition-failed when `If-Match` was sent and does not name `current` (null: no current representation). */
export function checkIfMatch(header: string | undefined | null, current: string | null, what: string): void {
  const tags = ifMatchTags(header);
  if (tags === null) return;
  if (tags === "*" ? current !== null : current !== null && tags.includes(current)) return;
  throw problem("precondition-failed", {
    detail: current === null ? `${what} does not exist, so If-Match cannot match.` : `${what} changed since it was read: its ETag is now ${current}, not ${header}. Read it again and reapply your change.`,
    extensions: { etag: current },
  });
}

/** The revision named by a strong tag of `kind`, when `If-Match` names exactly one (for a conditional write). */
export function revisionOf(header: string | undefined | null, kind: "tenant" | "catalog" | "grant"): number | null {
  const tags = ifMatchTags(header);
  if (tags === null || tags === "*" || tags.length !== 1) return null;
  const m = new RegExp(`^"${kind}-(\\d+)"$`).exec(tags[0]!);
  return m ? Number(m[1]) : null;
}
