// Catalog versions in D1, and the compiled current version cached per isolate. The hot path
// reads only a small version pointer (KV, re-checked at most every POINTER_TTL_MS); the catalog
// body is read from D1 once per version and isolate.
import type { Clock } from "../clock";
import { sha256Hex } from "../crypto";
import { compileRoutes, type Matcher } from "./compile";
import { Catalog } from "./schema";

export interface CatalogSnapshot {
  version: number;
  catalog: Catalog;
  matcher: Matcher;
  createdAt: string;
}

const POINTER_KEY = "catalog:current";
export const POINTER_TTL_MS = 5_000;

interface VersionRow {
  version: number;
  digest: string;
  body: string;
  created_at: string;
}

/** Per-isolate cache: compiled snapshots by version and when the pointer was last checked. */
const compiled = new Map<number, CatalogSnapshot>();
let pointer: { version: number | null; checkedAt: number } | null = null;

export function forgetCachedCatalog(): void {
  compiled.clear();
  pointer = null;
}

function snapshotOf(row: VersionRow): CatalogSnapshot {
  const cached = compiled.get(row.version);
  if (cached) return cached;
  const catalog = Catalog.parse(JSON.parse(row.body));
  const snapshot = { version: row.version, catalog, matcher: compileRoutes(catalog), createdAt: row.created_at };
  compiled.set(row.version, snapshot);
  return snapshot;
}

/** Object keys sorted recursively, so that key order does not make two catalogs differ. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export class CatalogStore {
  constructor(
    private readonly db: D1Database,
    private readonly kv: KVNamespace,
    private readonly clock: Clock,
  ) {}

  /** The current catalog, or null when none was ever loaded. */
  async current(): Promise<CatalogSnapshot | null> {
    const now = this.clock.now();
    if (!pointer || now - pointer.checkedAt >= POINTER_TTL_MS) {
      const fromKv = await this.kv.get(POINTER_KEY);
      const version = fromKv !== null ? Number(fromKv) : await this.latestVersion();
      pointer = { version, checkedAt: now };
    }
    if (pointer.version === null) return null;
    return compiled.get(pointer.version) ?? this.get(pointer.version);
  }

  async get(version: number): Promise<CatalogSnapshot | null> {
    const cached = compiled.get(version);
    if (cached) return cached;
    const row = await this.db.prepare("SELECT * FROM catalog_versions WHERE version = ?").bind(version).first<VersionRow>();
    return row ? snapshotOf(row) : null;
  }

  async versions(): Promise<{ version: number; createdAt: string }[]> {
    const { results } = await this.db
      .prepare("SELECT version, created_at FROM catalog_versions ORDER BY version")
      .all<{ version: number; created_at: string }>();
    return results.map((r) => ({ version: r.version, createdAt: r.created_at }));
  }

  /** Stores a validated catalog; an identical one keeps the current version. */
  async put(catalog: Catalog): Promise<{ version: number; changed: boolean; previous: number | null }> {
    const body = JSON.stringify(canonical(catalog));
    const digest = await sha256Hex(body);
    const latest = await this.db
      .prepare("SELECT * FROM catalog_versions ORDER BY version DESC LIMIT 1")
      .first<VersionRow>();
    let version: number;
    let changed = false;
    if (latest && latest.digest === digest) {
      version = latest.version;
    } else {
      const createdAt = new Date(this.clock.now()).toISOString();
      const row = await this.db
        .prepare(
          "INSERT INTO catalog_versions (version, digest, body, created_at) VALUES ((SELECT COALESCE(MAX(version), 0) + 1 FROM catalog_versions), ?, ?, ?) RETURNING *",
        )
        .bind(digest, body, createdAt)
        .first<VersionRow>();
      if (!row) throw new Error("catalog insert returned nothing");
      snapshotOf(row);
      version = row.version;
      changed = true;
    }
    await this.kv.put(POINTER_KEY, String(version));
    pointer = { version, checkedAt: this.clock.now() };
    return { version, changed, previous: latest?.version ?? null };
  }

  private async latestVersion(): Promise<number | null> {
    const row = await this.db.prepare("SELECT MAX(version) AS version FROM catalog_versions").first<{ version: number | null }>();
    const version = row?.version ?? null;
    if (version !== null) await this.kv.put(POINTER_KEY, String(version));
    return version;
  }
}
