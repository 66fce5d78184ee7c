// The Scalar API reference bundle (@scalar/api-reference's standalone browser build: its script
// and the styles it injects), served by the Worker itself so the docs page needs no network but
// the gateway's. wrangler.toml's `[[rules]]` Text entry makes the import a string, for
// `wrangler deploy` and for @cloudflare/vitest-plugin alike (README, Libraries).
// Typed as a string by the module declaration `wrangler types` derives from that rule.
import standalone from "../../node_modules/@scalar/api-reference/dist/browser/standalone.js";
import scalarPackage from "../../node_modules/@scalar/api-reference/package.json";

export const scalarScript: string = standalone;

/** Names the bundle in its URL and ETag, so a long cache never serves an old bundle after an upgrade. */
export const scalarVersion: string = scalarPackage.version;
