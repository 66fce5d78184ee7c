// Catalog versions in D1, and the compiled current version cached per isolate. The hot path
// reads only a small version pointer (KV, re-checked at most every POINTER_TTL_MS); the catalog
// body is read from D1 once per version and isolate.
import type { Clock } from "../clock";
import { sha256Hex } from "../crypto";
import { compileRoutes, type Matcher } from "./compile";
import type { Catalog } from "./schema";

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

interface Pointer {
  version: number;
  digest: string;
}

/** Per-isolate cache: compiled snapshots by content digest, and the last pointer read. */
const compiled = new Map<string, CatalogSnapshot>();
let pointer: { current: Pointer | null; checkedAt: number } | null = null;

export function forgetCachedCatalog(): void {
  compiled.clear();
  pointer = null;
}

function snapshotOf(row: VersionRow): CatalogSnapshot {
  const cached = compiled.get(row.digest);
  if (cached && cached.version === row.version) return cached;
  // Stored versions were validated (defaults filled in) when they were PUT; they are not judged
  // again by a newer schema, whose tighter bounds would otherwise stop a running gateway.
  const catalog = JSON.parse(row.body) as Catalog;
  const snapshot = { version: row.version, catalog, matcher: compileRoutes(catalog), createdAt: row.created_at };
  compiled.set(row.digest, snapshot);
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
      const current = (await this.kv.get<Pointer>(POINTER_KEY, "json")) ?? (await this.latestPointer());
      pointer = { current, checkedAt: now };
    }
    if (pointer.current === null) return null;
    const cached = compiled.get(pointer.current.digest);
    if (cached && cached.version === pointer.current.version) return cached;
    return this.get(pointer.current.version);
  }

  async get(version: number): Promise<CatalogSnapshot | null> {
    const row = await this.db.prepare("SELECT * FROM catalog_versions WHERE version = ?").bind(version).first<VersionRow>();
    return row ? snapshotOf(row) : null;
  }

  async versions(): Promise<{ version: number; createdAt: string }[]> {
    const { results } = await this.db
      .prepare("SELECT version, created_at FROM catalog_versions ORDER BY version")
      .all<{ version: number; created_at: string }>();
    return results.map((r) => ({ version: r.version, createdAt: r.created_at }));
  }

  /** The latest stored version (what GET /catalog answers), read from D1 rather than the isolate's pointer. */
  async latest(): Promise<CatalogSnapshot | null> {
    const row = await this.db.prepare("SELECT * FROM catalog_versions ORDER BY version DESC LIMIT 1").first<VersionRow>();
    return row ? snapshotOf(row) : null;
  }

  /**
   * Stores a validated catalog; an identical one keeps the current version. With `expect` (the
   * version an If-Match named, 0 for none) the insert only happens while that is still the latest
   * version, so two operators never overwrite each other: `stale` says the other one won.
   */
  async put(catalog: Catalog, expect?: number): Promise<{ version: number; changed: boolean; previous: number | null; stale?: true }> {
    const body = JSON.stringify(canonical(catalog));
    const digest = await sha256Hex(body);
    const latest = await this.db
      .prepare("SELECT * FROM catalog_versions ORDER BY version DESC LIMIT 1")
      .first<VersionRow>();
    if (expect !== undefined && (latest?.version ?? 0) !== expect) return { version: latest?.version ?? 0, changed: false, previous: latest?.version ?? null, stale: true };
    let version: number;
    let changed = false;
    if (latest && latest.digest === digest) {
      version = latest.version;
    } else {
      const createdAt = new Date(this.clock.now()).toISOString();
      const row = await this.db
        .prepare(
          `INSERT INTO catalog_versions (version, digest, body, created_at) SELECT COALESCE(MAX(version), 0) + 1, ?, ?, ? FROM catalog_versions${expect === undefined ? "" : " HAVING COALESCE(MAX(version), 0) = ?"} RETURNING *`,
        )
        .bind(digest, body, createdAt, ...(expect === undefined ? [] : [expect]))
        .first<VersionRow>();
      if (!row) {
        if (expect !== undefined) return { version: expect, changed: false, previous: latest?.version ?? null, stale: true };
        throw new Error("catalog insert returned nothing");
      }
      snapshotOf(row);
      version = row.version;
      changed = true;
    }
    const current = { version, digest };
    await this.kv.put(POINTER_KEY, JSON.stringify(current));
    pointer = { current, checkedAt: this.clock.now() };
    return { version, changed, previous: latest?.version ?? null };
  }

  private async latestPointer(): Promise<Pointer | null> {
    const row = await this.db.prepare("SELECT version, digest FROM catalog_versions ORDER BY version DESC LIMIT 1").first<Pointer>();
    if (row) await this.kv.put(POINTER_KEY, JSON.stringify(row));
    return row ?? null;
  }
}
