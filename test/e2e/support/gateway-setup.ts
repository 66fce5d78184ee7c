// The e2e project's one gateway: the demo origin and `wrangler dev` (the project's own wrangler,
// on throwaway local state with migrations applied), both on free loopback ports. Tests reach it
// through `inject("gateway")`; the CLI and the browser talk to it as a user's would.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
// @ts-expect-error -- plain ESM module without types
import { createDemoOrigin } from "../../../examples/demo-origin.mjs";
// @ts-expect-error -- plain ESM module without types
import { freePorts, stopAllGroups } from "../../../bench/processes.mjs";
// @ts-expect-error -- plain ESM module without types
import { untilAnswering, wranglerDev, wranglerRun } from "../../../bench/wrangler.mjs";

export interface E2EGateway {
  url: string;
  adminToken: string;
  originUrl: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    gateway: E2EGateway;
  }
}

export const E2E_ADMIN_TOKEN = "tg-admin-e2e-token";

export default async function setup(project: TestProject) {
  const state = mkdtempSync(join(tmpdir(), "tollgate-e2e-"));
  const origin = createDemoOrigin();
  const originPort: number = await origin.listen(0);
  const [port, inspectorPort] = (await freePorts(2)) as [number, number];
  const originUrl = `http://127.0.0.1:${originPort}`;
  try {
    await wranglerRun("d1 migrations", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { CI: "true" });
    const gateway = wranglerDev("gateway", {
      port,
      inspectorPort,
      persistTo: state,
      vars: { ORIGIN_URL: originUrl, ADMIN_TOKEN: E2E_ADMIN_TOKEN, ORIGIN_SECRET: "tg-origin-e2e-secret" },
    });
    await untilAnswering(gateway, "/_tollgate/health");
    // Every e2e file starts from the demo catalog (examples/demo-catalog.json), as `npm start` does.
    const put = await fetch(`${gateway.url}/_tollgate/admin/catalog`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${E2E_ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: readFileSync("examples/demo-catalog.json", "utf8"),
    });
    if (put.status !== 200) throw new Error(`loading the demo catalog: ${put.status} ${await put.text()}`);
    project.provide("gateway", { url: gateway.url, adminToken: E2E_ADMIN_TOKEN, originUrl });
  } catch (error) {
    await stopAllGroups();
    await origin.close();
    rmSync(state, { recursive: true, force: true });
    throw error;
  }
  return async () => {
    await stopAllGroups();
    await origin.close();
    rmSync(state, { recursive: true, force: true });
  };
}
