import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: `workers` runs inside workerd against real bindings (almost everything);
// `e2e` runs in Node against a real `wrangler dev` gateway, for what lives outside the Worker:
// the `tollgate` CLI binary and the dashboard/portal in a real browser (test/e2e).
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ORIGIN_URL: `http://127.0.0.1:${inject("originPort")}`,
                ORIGIN_TIMEOUT_MS: "1000",
                MAX_BODY_BYTES: "65536",
                // This pool forces workerd's `no_handle_cross_request_promise_resolution`: a request
                // waiting in another request's admission batch would resume in that request's
                // context. Batching is tested here on one context (test/gateway/admission-line.test.ts)
                // and through a real gateway with production flags (test/e2e/batching.test.ts).
                ADMIT_BATCHING: "off",
                // `npm run fuzz` runs more seeded request mixes than `npm test` (test/fuzz).
                FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
                FUZZ_SEED: process.env.FUZZ_SEED ?? "",
                // The secrets of .dev.vars.example, so tests never depend on a developer's .dev.vars.
                ADMIN_TOKEN: "tg-admin-local-dev-token",
                ORIGIN_SECRET: "tg-origin-local-dev-secret",
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          // Tests that make many real requests take seconds on a loaded 2-core machine (CI runs
          // while other work does); the default 5 s made a property test flaky there.
          testTimeout: 30_000,
          globalSetup: ["./test/global-setup.ts"],
          setupFiles: ["./test/support/apply-migrations.ts"],
          include: ["test/**/*.test.ts"],
          exclude: ["test/e2e/**"],
        },
      },
      {
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["./test/e2e/support/build-cli.ts", "./test/e2e/support/gateway-setup.ts"],
          // One gateway (wrangler dev) for the whole project; its files share it one at a time.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
