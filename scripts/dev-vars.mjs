// The local secrets of `npm start` and `npm run bench`: a developer's own .dev.vars (not
// committed) wins; .dev.vars.example holds the committed defaults.
import { copyFileSync, existsSync, readFileSync } from "node:fs";

const EXAMPLE = ".dev.vars.example";
const LOCAL = ".dev.vars";

/** Creates .dev.vars from the example when a fresh clone has none; answers whether it did. */
export function ensureDevVars() {
  if (existsSync(LOCAL)) return false;
  copyFileSync(EXAMPLE, LOCAL);
  return true;
}

/** The value of `name` in .dev.vars if that file exists, else in the example. */
export function localVar(name) {
  const file = existsSync(LOCAL) ? LOCAL : EXAMPLE;
  const value = new RegExp(`^${name}=(.*)$`, "m").exec(readFileSync(file, "utf8"))?.[1]?.trim();
  if (!value) throw new Error(`${name} missing from ${file}`);
  return value;
}
