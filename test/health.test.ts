// GET /_tollgate/health: misconfiguration is loud (each failing check named, 503 degraded).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { systemClock } from "../src/clock";
import { healthOf, LATEST_MIGRATION } from "../src/health";
import { basicCatalog } from "./support/catalogs";
import { loadCatalog, send } from "./support/http";

describe("health", () => {
  it("knows the last migration of migrations/", () => {
    expect(LATEST_MIGRATION).toBe(env.TEST_MIGRATIONS.at(-1)?.name);
  });

  it("is degraded (503) until a catalog is loaded, naming the check, then ok", async () => {
    const before = await send("/_tollgate/health");
    expect(before.status).toBe(503);
    const body = await before.json<{ status: string; checks: Record<string, { ok: boolean; detail: string }> }>();
    expect(body.status).toBe("degraded");
    expect(Object.entries(body.checks).filter(([, c]) => !c.ok).map(([n]) => n)).toEqual(["catalog"]);
    expect(body.checks.catalog!.detail).toContain("no catalog is loaded");
    expect(body.checks.database).toEqual({ ok: true, detail: `migrated to ${LATEST_MIGRATION}` });
    await loadCatalog(basicCatalog);
    const after = await send("/_tollgate/health");
    expect(after.status).toBe(200);
    expect((await after.json<{ status: string }>()).status).toBe("ok");
  });

  it("names a missing or short admin token, and an origin URL that is not http(s) or carries credentials", async () => {
    const failing = async (over: Partial<Env>) => {
      const h = await healthOf({ ...env, ...over } as Env, systemClock);
      expect(h.status).toBe("degraded");
      return Object.fromEntries(Object.entries(h.checks).filter(([, c]) => !c.ok).map(([n, c]) => [n, c.detail]));
    };
    expect(await failing({ ADMIN_TOKEN: undefined })).toEqual({ adminToken: expect.stringContaining("ADMIN_TOKEN is not set") });
    expect(await failing({ ADMIN_TOKEN: "short" })).toEqual({ adminToken: expect.stringContaining("shorter than 16") });
    expect(await failing({ ORIGIN_URL: "not a url" })).toEqual({ originUrl: expect.stringContaining("is not a URL") });
    expect(await failing({ ORIGIN_URL: "ftp://origin.example" })).toEqual({ originUrl: expect.stringContaining("http or https") });
    expect(await failing({ ORIGIN_URL: "https://u:p@origin.example" })).toEqual({ originUrl: expect.stringContaining("credentials") });
  });

  it("names a database that is not migrated to the last migration", async () => {
    await env.DB.prepare("INSERT INTO d1_migrations (name) VALUES ('9999_future.sql')").run();
    const h = await healthOf(env, systemClock);
    expect(h.checks.database).toEqual({ ok: false, detail: expect.stringContaining("migrated to 9999_future.sql") });
    await env.DB.prepare("DELETE FROM d1_migrations WHERE name = '9999_future.sql'").run();
  });
});
