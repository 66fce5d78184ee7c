// Runs the real `tollgate` binary (bin/tollgate.mjs, as `npx tollgate` runs it) for the e2e tests.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll } from "vitest";
import type { E2EGateway } from "./gateway-setup";

export const root = resolve(import.meta.dirname, "../../..");
// The project's pinned Node, as `npx tollgate` finds it on PATH; else the one running the tests.
const pinnedNode = join(root, "node_modules/.bin/node");
export const nodeBin = existsSync(pinnedNode) ? pinnedNode : process.execPath;

/** A folder without .dev.vars, so no test picks up a developer's local token by accident (one per test file). */
export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { env?: Record<string, string>; cwd: string }): Promise<Run> {
  return new Promise((done, fail) => {
    const env = { ...process.env, TOLLGATE_URL: "", TOLLGATE_ADMIN_TOKEN: "", ...options.env };
    const child = spawn(nodeBin, [join(root, "bin/tollgate.mjs"), ...args], { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

/** The CLI pointed at the e2e gateway with its admin token. */
export const cliFor = (gw: E2EGateway, cwd: string) => (...args: string[]) => runCli(["--url", gw.url, "--token", gw.adminToken, ...args], { cwd });

export const lines = (text: string) => text.trimEnd().split("\n");
