#!/usr/bin/env node
// `tollgate` (CONTRACT §9). The CLI is TypeScript under cli/, bundled by `npm install` (the
// package's `prepare` script, scripts/build-cli.mjs) into build/tollgate.mjs, which this loads.
import { existsSync } from "node:fs";

const bundle = new URL("../build/tollgate.mjs", import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write("tollgate: the CLI is not built yet (build/tollgate.mjs is missing); run `npm install` in the project folder\n");
  process.exit(1);
}
const { run } = await import(bundle.href);
process.exitCode = await run(process.argv.slice(2));
