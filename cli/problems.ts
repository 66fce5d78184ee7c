// How a refusal reads for people: ONE line on stderr, the validation issues indented below it.
// Pure (no node APIs), shared by every command through main.ts.
import type { ValidationIssue } from "../src/problems";
import { type ProblemAnswer } from "./errors";

/** A JSON Pointer for people: the root is "(root)". */
export const showPath = (path: string) => (path === "" ? "(root)" : path);

export const issueLines = (issues: readonly ValidationIssue[]) => issues.map((i) => `  ${showPath(i.path)}: ${i.message}`);

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();

/**
 * `error: 412 precondition-failed — The tenant changed since you read it`, then one indented
 * line per `errors[]` item. An answer that is not problem JSON shows the start of its body.
 */
export function problemLines(answer: ProblemAnswer): string[] {
  const p = answer.problem;
  if (p === null) {
    const body = oneLine(answer.text).slice(0, 200);
    return [`error: ${answer.status}${body ? ` — ${body}` : ""}`, ...answer.notes];
  }
  const code = answer.code ?? (typeof p.title === "string" ? p.title : "problem");
  const detail = typeof p.detail === "string" && p.detail ? p.detail : typeof p.title === "string" ? p.title : "";
  const errors = Array.isArray(p.errors) ? p.errors.filter((e) => typeof e?.path === "string" && typeof e?.message === "string") : [];
  return [`error: ${answer.status} ${code}${detail ? ` — ${oneLine(detail)}` : ""}`, ...issueLines(errors), ...answer.notes];
}
