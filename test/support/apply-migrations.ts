import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach } from "vitest";
import { forgetCachedCatalog } from "../../src/catalog/store";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// Each test file has its own D1/KV; the isolate's catalog pointer must not carry over.
beforeEach(() => forgetCachedCatalog());
