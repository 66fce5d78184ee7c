// `npm run docs`: rewrites the generated parts of docs/reference/ (endpoints.md from the OpenAPI
// document the Worker serves, errors.md from src/problems.ts). The OpenAPI document only exists
// inside workerd, so the rendering runs there, in test/docs/reference.test.ts: this script runs that
// test with vitest's --update, which writes the files the test compares against; without --update
// (as in `npm test` and CI) the same test fails when a committed file differs from the source.
import { spawnSync } from "node:child_process";

const FILES = ["docs/reference/endpoints.md", "docs/reference/errors.md"];

const run = spawnSync("node_modules/.bin/vitest", ["run", "test/docs/reference.test.ts", "--update"], {
  stdio: ["ignore", "inherit", "inherit"],
  // Outside CI, so vitest writes the files (in CI it never writes snapshots).
  env: { ...process.env, CI: "" },
});
if (run.status !== 0) {
  console.error("gen-docs: rendering docs/reference failed (see above)");
  process.exit(run.status ?? 1);
}
const changed = spawnSync("git", ["status", "--porcelain", "--", ...FILES], { encoding: "utf8" }).stdout.trim();
console.log(changed ? `gen-docs: updated\n${changed}` : `gen-docs: ${FILES.join(", ")} already up to date`);
