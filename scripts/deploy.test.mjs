// `node --test scripts/deploy.test.mjs`: `npm run deploy` refuses placeholder ids before wrangler
// runs, and otherwise hands every argument to `wrangler deploy` (a stub stands in for wrangler).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { optionOf, placeholdersIn } from "./deploy.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const REAL_D1 = "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
const REAL_KV = "a825455ce00f4f7282403da85269f8ea";

/** A stub wrangler that records its arguments, and the file it records them in. */
function stubWrangler() {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-deploy-"));
  const calls = join(dir, "calls.json");
  const bin = join(dir, "wrangler");
  writeFileSync(bin, `#!/usr/bin/env node\nrequire("node:fs").writeFileSync(${JSON.stringify(calls)}, JSON.stringify(process.argv.slice(2)));\n`);
  chmodSync(bin, 0o755);
  return { dir, bin, calls };
}

function deploy(args, wrangler) {
  return spawnSync(process.execPath, [join(ROOT, "scripts/deploy.mjs"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, TOLLGATE_WRANGLER: wrangler },
  });
}

/** The committed wrangler.toml with the production placeholders filled in, in a temp dir. */
function filledConfig(dir, { d1 = REAL_D1, kv = REAL_KV, origin = "https://origin.internal.example.net" } = {}) {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace('main = "src/index.ts"', `main = ${JSON.stringify(join(ROOT, "src/index.ts"))}`)
    .replace(/(\[env\.production\.vars\]\nORIGIN_URL = )"[^"]*"/, `$1"${origin}"`)
    .replace(/(\[\[env\.production\.d1_databases\]\][^[]*database_id = )"[^"]*"/, `$1"${d1}"`)
    .replace(/(\[\[env\.production\.kv_namespaces\]\][^[]*\nid = )"[^"]*"/, `$1"${kv}"`);
  const path = join(dir, "wrangler.toml");
  writeFileSync(path, toml);
  return path;
}

test("the committed wrangler.toml is refused, one line per placeholder, and wrangler never runs", () => {
  const stub = stubWrangler();
  const run = deploy([], stub.bin);
  assert.equal(run.status, 1);
  const lines = run.stderr.trim().split("\n");
  assert.deepEqual(
    lines.map((l) => l.replace(/;.*/, "")),
    [
      "deploy: wrangler.toml [env.production]: D1 binding DB has the placeholder database_id 00000000-0000-0000-0000-000000000000",
      "deploy: wrangler.toml [env.production]: KV binding CACHE has the placeholder id 00000000000000000000000000000000",
      "deploy: wrangler.toml [env.production]: ORIGIN_URL is still https://origin.example.com",
      "deploy: refused",
    ],
  );
  assert.match(lines[0], /npx wrangler d1 create tollgate/);
  assert.match(lines[1], /npx wrangler kv namespace create CACHE/);
  assert.equal(existsSync(stub.calls), false);
});

test("with real ids, every argument goes to `wrangler deploy`, --env production added", () => {
  const stub = stubWrangler();
  const config = filledConfig(stub.dir);
  const run = deploy(["--config", config, "--dry-run", "--outdir", "dist"], stub.bin);
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(readFileSync(stub.calls, "utf8")), ["deploy", "--env", "production", "--config", config, "--dry-run", "--outdir", "dist"]);
});

test("a placeholder left in one binding is still refused", () => {
  const stub = stubWrangler();
  const config = filledConfig(stub.dir, { kv: "00000000000000000000000000000000" });
  const run = deploy(["--config", config], stub.bin);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /KV binding CACHE has the placeholder id/);
  assert.doesNotMatch(run.stderr, /D1 binding/);
  assert.equal(existsSync(stub.calls), false);
});

test("--env picks the environment, and one that wrangler.toml lacks is refused by name", () => {
  const stub = stubWrangler();
  const run = deploy(["--env", "staging"], stub.bin);
  assert.equal(run.status, 1);
  assert.equal(run.stderr.trim(), "deploy: wrangler.toml has no [env.staging] section (docs/deploy.md shows how to add one)");
  const config = filledConfig(stub.dir);
  const ok = deploy(["--config", config, "--env=production"], stub.bin);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(JSON.parse(readFileSync(stub.calls, "utf8")), ["deploy", "--config", config, "--env=production"]);
});

test("wrangler's exit status is deploy's", () => {
  const stub = stubWrangler();
  writeFileSync(stub.bin, "#!/usr/bin/env node\nprocess.exit(3);\n");
  const run = deploy(["--config", filledConfig(stub.dir)], stub.bin);
  assert.equal(run.status, 3);
});

test("placeholdersIn: missing bindings and local origins are placeholders too", () => {
  assert.deepEqual(placeholdersIn({ d1_databases: [{ binding: "DB", database_id: REAL_D1 }], kv_namespaces: [{ binding: "CACHE", id: REAL_KV }], vars: { ORIGIN_URL: "https://api-origin.acme.io" } }, "w"), []);
  const missing = placeholdersIn({ vars: {} }, "w");
  assert.equal(missing.length, 3);
  assert.match(missing.join("\n"), /no D1 binding DB/);
  assert.match(missing.join("\n"), /no KV binding CACHE/);
  assert.match(missing.join("\n"), /no ORIGIN_URL/);
  const local = placeholdersIn({ d1_databases: [{ binding: "DB", database_id: REAL_D1 }], kv_namespaces: [{ binding: "CACHE", id: REAL_KV }], vars: { ORIGIN_URL: "http://localhost:8788" } }, "w");
  assert.deepEqual(local, ["w: ORIGIN_URL is still http://localhost:8788; set it to your origin API's base URL"]);
});

test("optionOf reads --name value, --name=value and the short form", () => {
  assert.equal(optionOf(["--env", "a"], "--env", "-e"), "a");
  assert.equal(optionOf(["--env=b"], "--env", "-e"), "b");
  assert.equal(optionOf(["-e", "c"], "--env", "-e"), "c");
  assert.equal(optionOf(["--dry-run"], "--env", "-e"), undefined);
});
