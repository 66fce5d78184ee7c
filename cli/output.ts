// What the CLI writes: aligned tables and lines for people, the API's JSON as is for machines
// (`--json`), problems as one line on stderr (problems.ts).
import Table from "cli-table3";
import type { Answer } from "./client";

export interface Streams {
  out: (text: string) => void;
  err: (text: string) => void;
}

export type Cell = string | number | boolean | null | undefined;

// Borderless: columns separated by two spaces, so output greps and cuts like kubectl's.
const PLAIN = {
  top: "", "top-mid": "", "top-left": "", "top-right": "",
  bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
  left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  ",
};

/** A value in a table cell: JSON for objects, "-" for nothing. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** JSON for a person's line: strings quoted, absent shown as "(none)". */
export const shown = (value: unknown) => (value === undefined ? "(none)" : JSON.stringify(value));

export class Output {
  constructor(
    readonly json: boolean,
    private readonly streams: Streams,
  ) {}

  line(text = ""): void {
    this.streams.out(`${text}\n`);
  }

  /** To stderr: problems and notes that must not mix with what scripts read from stdout. */
  error(text: string): void {
    this.streams.err(`${text}\n`);
  }

  /** The answer's body exactly as the gateway sent it (nothing for an empty body). */
  raw(answer: Pick<Answer, "text">): void {
    if (answer.text === "") return;
    this.streams.out(answer.text.endsWith("\n") ? answer.text : `${answer.text}\n`);
  }

  /** Pretty JSON of a value the CLI computed itself (there is no API answer to pass on). */
  value(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  table(head: string[], rows: Cell[][]): void {
    const table = new Table({ head, chars: PLAIN, style: { head: [], border: [], "padding-left": 0, "padding-right": 0 } });
    for (const row of rows) table.push(row.map(cell));
    for (const line of table.toString().split("\n")) this.line(line.trimEnd());
  }

  /** Two columns, field and value, for one object. */
  fields(entries: [string, unknown][]): void {
    const width = Math.max(...entries.map(([k]) => k.length));
    for (const [k, v] of entries) this.line(`${`${k}:`.padEnd(width + 2)}${cell(v)}`);
  }
}
