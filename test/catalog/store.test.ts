// The catalog is compiled once per version; the hot path does not re-read it from D1.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CatalogStore, forgetCachedCatalog, POINTER_TTL_MS } from "../../src/catalog/store";
import { parseCatalog } from "../../src/catalog/schema";
import { basicCatalog } from "../support/catalogs";
import { ManualClock } from "../support/clock";

/** The real binding, with its calls counted. */
function counted<T extends object>(binding: T, method: keyof T) {
  const calls = { n: 0 };
  const proxy = new Proxy(binding, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === method) calls.n++;
        return value.apply(target, args);
      };
    },
  });
  return { proxy, calls };
}

describe("catalog store", () => {
  it("reads the catalog from D1 once per version, and its pointer from KV at most every few seconds", async () => {
    const parsed = parseCatalog(basicCatalog);
    if (!parsed.ok) throw new Error("fixture");
    const clock = new ManualClock(Date.now());
    await new CatalogStore(env.DB, env.CACHE, clock).put(parsed.catalog);
    forgetCachedCatalog();

    const db = counted(env.DB, "prepare");
    const kv = counted(env.CACHE, "get");
    const store = new CatalogStore(db.proxy, kv.proxy, clock);
    const first = await store.current();
    expect(first?.matcher.match("GET", "/v1/events")).toBe("events.feed");
    expect([db.calls.n, kv.calls.n]).toEqual([1, 1]);

    for (let i = 0; i < 50; i++) await store.current();
    expect([db.calls.n, kv.calls.n]).toEqual([1, 1]);

    clock.advance(POINTER_TTL_MS);
    expect(await store.current()).toBe(first); // same compiled snapshot
    expect([db.calls.n, kv.calls.n]).toEqual([1, 2]);
  });

  it("a new version is compiled once and served from then on", async () => {
    const clock = new ManualClock(Date.now());
    const store = new CatalogStore(env.DB, env.CACHE, clock);
    const changed = parseCatalog({ ...basicCatalog, currency: "EUR" });
    if (!changed.ok) throw new Error("fixture");
    const { version, changed: isNew } = await store.put(changed.catalog);
    expect(isNew).toBe(true);
    const snapshot = await store.current();
    expect(snapshot).toMatchObject({ version, catalog: { currency: "EUR" } });
    expect(await store.current()).toBe(snapshot);
  });
});
