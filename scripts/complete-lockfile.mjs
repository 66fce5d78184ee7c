// The npm registry this project's machines reach has no darwin/windows builds of workerd, so
// `npm install` leaves those optional packages out of package-lock.json and `npm ci` then rejects
// the lock as out of sync. This adds each missing platform package as an optional entry gated by
// its os/cpu, which npm skips on other platforms without fetching (and fetches on its own).
// Run after any `npm install` that changes the lock: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

const platforms = {
  "@cloudflare/workerd-darwin-64": { os: ["darwin"], cpu: ["x64"] },
  "@cloudflare/workerd-darwin-arm64": { os: ["darwin"], cpu: ["arm64"] },
  "@cloudflare/workerd-linux-64": { os: ["linux"], cpu: ["x64"] },
  "@cloudflare/workerd-linux-arm64": { os: ["linux"], cpu: ["arm64"] },
  "@cloudflare/workerd-windows-64": { os: ["win32"], cpu: ["x64"] },
};

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
let added = 0;
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
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))));
lock.packages = sorted;
writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");
console.log(`complete-lockfile: added ${added} platform entr${added === 1 ? "y" : "ies"}`);
