// Self-test of complete-lockfile.mjs under plain node (`node --test`), run by .ci/run before the
// check itself: the script edits files and spawns nothing workerd-related, so it is tested where
// it runs, not inside the workerd test pool.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

const script = new URL("./complete-lockfile.mjs", import.meta.url).pathname;
const committedLock = new URL("../package-lock.json", import.meta.url).pathname;
const dirs = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A scratch folder holding a copy of the committed lock, optionally without some entries. */
function scratchLock(remove = []) {
  const dir = mkdtempSync(join(tmpdir(), "complete-lockfile-"));
  dirs.push(dir);
  copyFileSync(committedLock, join(dir, "package-lock.json"));
  if (remove.length > 0) {
    const lock = JSON.parse(readFileSync(committedLock, "utf8"));
    for (const path of remove) {
      assert.ok(lock.packages[path], `the committed lock has ${path}`);
      delete lock.packages[path];
    }
    writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock, null, 2) + "\n");
  }
  return dir;
}

const run = (dir, ...args) => spawnSync(process.execPath, [script, ...args], { cwd: dir, encoding: "utf8" });
const lockIn = (dir) => readFileSync(join(dir, "package-lock.json"), "utf8");

const topLevel = "node_modules/@cloudflare/workerd-darwin-arm64";
const nested = "node_modules/wrangler/node_modules/workerd/node_modules/@cloudflare/workerd-windows-64";

describe("complete-lockfile --check", () => {
  it("passes on the committed lock and writes nothing", () => {
    const dir = scratchLock();
    const result = run(dir, "--check");
    assert.equal(result.status, 0, result.stderr);
    assert.equal(lockIn(dir), readFileSync(committedLock, "utf8"));
  });

  it("fails naming each missing platform entry, and leaves the lock as it was", () => {
    const dir = scratchLock([topLevel, nested]);
    const before = lockIn(dir);
    const result = run(dir, "--check");
    assert.equal(result.status, 1);
    const version = (path) => JSON.parse(readFileSync(committedLock, "utf8")).packages[path].version;
    assert.match(result.stderr, new RegExp(`${topLevel}@${version(topLevel).replaceAll(".", "\\.")}`));
    assert.match(result.stderr, new RegExp(`${nested}@${version(nested).replaceAll(".", "\\.")}`));
    assert.equal(lockIn(dir), before);
  });

  it("rejects an unknown argument instead of silently writing", () => {
    const dir = scratchLock([topLevel]);
    const before = lockIn(dir);
    assert.equal(run(dir, "--chek").status, 2);
    assert.equal(lockIn(dir), before);
  });
});

describe("complete-lockfile (developer mode)", () => {
  it("restores the removed entries as npm would read them, and then --check passes", () => {
    const dir = scratchLock([topLevel, nested]);
    assert.equal(run(dir).status, 0);
    assert.deepEqual(JSON.parse(lockIn(dir)), JSON.parse(readFileSync(committedLock, "utf8")));
    assert.equal(run(dir, "--check").status, 0);
  });
});
