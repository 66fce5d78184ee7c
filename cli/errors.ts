// What can end a command other than success, and the exit code each gives (CONTRACT §9:
// 0 ok, 1 refused or failed, 2 usage error). Pure: no node APIs, so tests run anywhere.
import type { ValidationIssue } from "../src/problems";

/** The gateway answered a problem (RFC 9457) or another non-2xx answer. Exit 1. */
export class ProblemAnswer extends Error {
  /** Lines a command adds below the problem (e.g. the stranded tenants), indented like errors[]. */
  readonly notes: string[] = [];

  constructor(
    readonly status: number,
    /** The parsed problem, or null when the answer was not problem JSON. */
    readonly problem: Problem | null,
    /** The answer's body as received, for `--json`. */
    readonly text: string,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.name = "ProblemAnswer";
  }

  /** `precondition-failed` from `urn:tollgate:problem:precondition-failed`. */
  get code(): string | null {
    const type = this.problem?.type;
    return typeof type === "string" && type.startsWith(PROBLEM_PREFIX) ? type.slice(PROBLEM_PREFIX.length) : null;
  }
}

export const PROBLEM_PREFIX = "urn:tollgate:problem:";

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: ValidationIssue[];
  [member: string]: unknown;
}

/** The gateway could not be reached at all. Exit 1. */
export class Unreachable extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${url}: ${reason}`);
    this.name = "Unreachable";
  }
}

/** The command ran and refused or failed for a reason it explains itself (exit 1), or the
 * user's input was wrong in a way the argument parser cannot see (exit 2). */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    /** Shown indented below the message, e.g. validation issues. */
    readonly details: readonly string[] = [],
  ) {
    super(message);
    this.name = "CommandFailure";
  }
}

export const usageError = (message: string, details: readonly string[] = []) => new CommandFailure(message, 2, details);
