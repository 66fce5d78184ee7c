// Option-value parsers for commander: a value that cannot mean anything is a usage error (exit 2)
// before any request is made.
import { InvalidArgumentError } from "commander";
import { BadFlag } from "./tenant-patch";

/** A commander argParser from a pure parser: its BadFlag becomes commander's invalid-argument error. */
export const flag =
  <T>(parse: (text: string) => T) =>
  (text: string): T => {
    try {
      return parse(text);
    } catch (error) {
      if (error instanceof BadFlag) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };

/** For a repeatable flag: every value, in order. */
export const repeated =
  <T>(parse: (text: string) => T) =>
  (text: string, previous: T[] | undefined): T[] => [...(previous ?? []), flag(parse)(text)];

export const positiveInt = flag((text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new BadFlag(`"${text}" is not a positive integer`);
  return n;
});
