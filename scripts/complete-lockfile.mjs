// The npm registry this project's machines reach has no darwin/windows builds of workerd, so
// `npm install` leaves those optional packages out of package-lock.json and `npm ci` then rejects
// the lock as out of sync. This adds each missing platform package as an optional entry gated by
// its os/cpu, which npm skips on other platforms without fetching (and fetches on its own).
// Run after any `npm install` that changes the lock: `node scripts/complete-lockfile.mjs`.
// CI runs `node scripts/complete-lockfile.mjs --check`: it only reports, so CI verifies the
// committed lock instead of repairing it (exit 1, naming the entries, when one is missing).
import { readFileSync, writeFileSync } from "node:fs";

const platforms = {
  "@cloudflare/workerd-darwin-64": { os: ["darwin"], cpu: ["x64"] },
  "@cloudflare/workerd-darwin-arm64": { os: ["darwin"], cpu: ["arm64"] },
  "@cloudflare/workerd-linux-64": { os: ["linux"], cpu: ["x64"] },
  "@cloudflare/workerd-linux-arm64": { os: ["linux"], cpu: ["arm64"] },
  "@cloudflare/workerd-windows-64": { os: ["win32"], cpu: ["x64"] },
};

/** Adds the missing platform entries to `lock` in place; answers them as "path@version". */
function completeLock(lock) {
  const added = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
      const gate = platforms[name];
      if (!gate) continue;
      // npm resolves a dependency from the nearest node_modules up the tree.
      const candidates = [];
      for (let at = path; ; at = at.slice(0, at.lastIndexOf("/node_modules/"))) {
        candidates.push(`${at ? `${at}/` : ""}node_modules/${name}`);
        if (!at.includes("/node_modules/")) {
          candidates.push(`node_modules/${name}`);
          break;
        }
      }
      if (candidates.some((c) => lock.packages[c]?.version === version)) continue;
      const target = lock.packages[`node_modules/${name}`] ? `${path}/node_modules/${name}` : `node_modules/${name}`;
      lock.packages[target] = { version, dev: entry.dev ?? false, optional: true, ...gate, license: "Apache-2.0", engines: { node: ">=16" } };
      added.push(`${target}@${version}`);
    }
  }
  lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))));
  return added;
}

function main(args) {
  const check = args.includes("--check");
  const unknown = args.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    console.error(`complete-lockfile: unknown argument ${unknown.join(" ")} (usage: complete-lockfile.mjs [--check])`);
    return 2;
  }
  const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
  const added = completeLock(lock);
  if (check) {
    if (added.length === 0) {
      console.log("complete-lockfile --check: every workerd platform build is in package-lock.json");
      return 0;
    }
    console.error(`complete-lockfile --check: package-lock.json lacks ${added.length} workerd platform entr${added.length === 1 ? "y" : "ies"}:`);
    for (const entry of added) console.error(`  ${entry}`);
    console.error("Run `node scripts/complete-lockfile.mjs` and commit package-lock.json.");
    return 1;
  }
  writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");
  console.log(`complete-lockfile: added ${added.length} platform entr${added.length === 1 ? "y" : "ies"}`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
