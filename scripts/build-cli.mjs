// Bundles the `tollgate` CLI (cli/main.ts and the src/ schemas it shares with the Worker) into
// build/tollgate.mjs, which bin/tollgate.mjs loads. Runs as the package's `prepare` script, so
// `npm install` and `npm ci` build it; nobody runs a build step by hand.
// src/ uses extensionless imports (bundler resolution), which Node cannot load as is: hence a bundle.
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  // An install without devDependencies (npm ci --omit=dev) has no bundler, and no CLI either.
  console.warn("build-cli: esbuild is not installed (devDependencies omitted?); the tollgate CLI is not built");
  process.exit(0);
}

await esbuild.build({
  absWorkingDir: root,
  entryPoints: ["cli/main.ts"],
  outfile: "build/tollgate.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  // The lowest Node the CLI promises to run on; the project's pinned Node is newer.
  target: "node20",
  // commander and cli-table3 are CommonJS and call require() for Node built-ins.
  banner: { js: 'import { createRequire as __tollgateRequire } from "node:module"; const require = __tollgateRequire(import.meta.url);' },
  logLevel: "warning",
  legalComments: "none",
});
