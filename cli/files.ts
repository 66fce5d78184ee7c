// Reading the user's input files: a failure names the file and says what is wrong, in one line.
import { readFileSync } from "node:fs";
import { CommandFailure } from "./errors";

/** The file's text and its JSON value; exit 1 when it cannot be read or is not JSON. */
export function readJsonFile(file: string): { text: string; value: unknown } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new CommandFailure(`cannot read ${file}${code === "ENOENT" ? ": no such file" : `: ${(error as Error).message}`}`);
  }
  try {
    return { text, value: JSON.parse(text) as unknown };
  } catch (error) {
    throw new CommandFailure(`${file} is not JSON: ${(error as Error).message}`);
  }
}

/** The text of a file if it exists, else undefined (for optional files such as .dev.vars). */
export function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
