// Step 2 (CONTRACT §3.2): method + path → surface of the current catalog.
import type { CatalogSnapshot } from "../catalog/store";
import { problem } from "../problems";

export function classify(snapshot: CatalogSnapshot | null, method: string, path: string): string {
  const surface = snapshot?.matcher.match(method, path) ?? null;
  if (surface === null) throw problem("no-surface", { detail: `No surface of the catalog matches ${method} ${path}.` });
  return surface;
}
