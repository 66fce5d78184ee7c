// `tollgate usage report FILE.ndjson` (CONTRACT §11): the file's events, checked line by line
// before anything is sent, cut into batches for POST /_tollgate/admin/usage/reports, and each
// batch's answer as lines for people. Pure (no node APIs), so tests run anywhere.
import { MAX_REPORTS_PER_CALL, ReportEvent as ReportEventSchema } from "../src/admin/reports";
import { issuesOf } from "../src/catalog/schema";
import { usageError } from "./errors";
import { showPath } from "./problems";

/** One event as the reports endpoint takes it. */
export interface ReportEvent {
  id: string;
  units: number;
  requestId?: string;
  tenant?: string;
  surface?: string;
  time?: string;
}

/** An event with the file line it came from (1-based), to name it back to the user. */
export interface NumberedEvent {
  line: number;
  event: ReportEvent;
}

/** The reports endpoint's answer to one batch. */
export interface ReportAnswer {
  accepted: number;
  duplicates: string[];
  rejected: { id: string; code: string; detail: string }[];
}

/** The endpoint's limit per call. */
export const MAX_BATCH = MAX_REPORTS_PER_CALL;

const FIELDS = new Set(["id", "units", "requestId", "tenant", "surface", "time"]);
const OPTIONAL_STRINGS = ["requestId", "tenant", "surface", "time"] as const;

/**
 * Every event of an NDJSON text, in order; blank lines are skipped. A line that is not a JSON
 * object with a string `id` and a numeric `units`, has a field the endpoint does not know (usually
 * a typo), or that the gateway's own event schema refuses (an id over 255 characters, a `time`
 * that is not ISO-8601 with its offset: the gateway would refuse the whole batch for it) is a
 * usage error (exit 2) naming the file and the line: nothing is sent. Units that are numbers but
 * not non-negative integers are left to the gateway, which rejects that one event with
 * `invalid-units` and takes the others.
 */
export function parseEvents(text: string, file: string): NumberedEvent[] {
  const events: NumberedEvent[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, "");
    if (raw.trim() === "") continue;
    const line = i + 1;
    const bad = (why: string) => usageError(`${file}:${line}: ${why}`);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      // JSON.parse counts lines and columns within this one line; only the column helps here.
      throw bad(`not JSON (${(error as Error).message.replace(/ \(line \d+ column (\d+)\)$/, ", column $1")})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("not a JSON object (one event per line)");
    const record = value as Record<string, unknown>;
    const unknown = Object.keys(record).filter((k) => !FIELDS.has(k));
    if (unknown.length > 0) throw bad(`unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} (known: ${[...FIELDS].join(", ")})`);
    if (typeof record.id !== "string" || record.id === "") throw bad(`"id" must be a non-empty string`);
    if (typeof record.units !== "number") throw bad(`"units" must be a number`);
    for (const name of OPTIONAL_STRINGS) {
      if (record[name] !== undefined && typeof record[name] !== "string") throw bad(`"${name}" must be a string`);
    }
    const checked = ReportEventSchema.safeParse(record);
    if (!checked.success) throw bad(issuesOf(checked.error).map((i) => `${showPath(i.path)}: ${i.message}`).join("; "));
    events.push({ line, event: record as unknown as ReportEvent });
  }
  return events;
}

/** Consecutive batches of at most `size` events. */
export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1 || size > MAX_BATCH) throw new RangeError(`batch size ${size} is not 1–${MAX_BATCH}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();

/** "line 7" or "lines 4–7": where in the file a batch came from. */
export const linesOf = (batch: readonly NumberedEvent[]) => {
  const first = batch[0]?.line;
  const last = batch.at(-1)?.line;
  return first === last ? `line ${first}` : `lines ${first}–${last}`;
};

/**
 * A batch's answer for people: `batch 2 (lines 1001–2000): 998 accepted, 1 duplicate, 1 rejected`,
 * then one indented line per rejected event, `id: code — detail (line n)`, and the duplicates.
 */
export function batchLines(index: number, batch: readonly NumberedEvent[], answer: ReportAnswer): string[] {
  const lineOf = new Map<string, number>();
  for (const { line, event } of batch) if (!lineOf.has(event.id)) lineOf.set(event.id, line);
  const where = (id: string) => (lineOf.has(id) ? ` (line ${lineOf.get(id)})` : "");
  const out = [
    `batch ${index} (${linesOf(batch)}): ${answer.accepted} accepted, ${plural(answer.duplicates.length, "duplicate")}, ${answer.rejected.length} rejected`,
  ];
  for (const r of answer.rejected) out.push(`  ${r.id}: ${r.code} — ${oneLine(r.detail ?? "")}${where(r.id)}`);
  if (answer.duplicates.length > 0) out.push(`  duplicates (already reported, counted once): ${answer.duplicates.join(", ")}`);
  return out;
}

/** The closing line: totals over every batch sent. */
export function totalLine(answers: readonly ReportAnswer[], events: number): string {
  const sum = (f: (a: ReportAnswer) => number) => answers.reduce((n, a) => n + f(a), 0);
  return `${plural(events, "event")} in ${plural(answers.length, "batch", "batches")}: ${sum((a) => a.accepted)} accepted, ${plural(sum((a) => a.duplicates.length), "duplicate")}, ${sum((a) => a.rejected.length)} rejected`;
}
