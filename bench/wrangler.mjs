// The project's own wrangler, run on the project's Node (the `node` dev dependency, 24.x): the
// machine's node may be older than wrangler accepts, and `npm run` is not always the caller.
import { existsSync } from "node:fs";
import { startGroup, sleep } from "./processes.mjs";

const localNode = "node_modules/.bin/node";
export const nodeBinary = existsSync(localNode) ? localNode : process.execPath;
const wranglerScript = "node_modules/wrangler/bin/wrangler.js";
const quietEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" };

/** Runs a wrangler command to completion; throws with its output when it fails. */
export async function wranglerRun(name, args, env = {}) {
  const group = startGroup(name, nodeBinary, [wranglerScript, ...args], { env: { ...quietEnv, ...env } });
  const code = await new Promise((resolve) => group.child.on("close", resolve));
  if (code !== 0) throw new Error(`${name}: wrangler ${args.join(" ")} exited ${code}\n${group.tail.text}`);
}

/** Starts `wrangler dev` for one target on fixed loopback ports with throwaway state. */
export function wranglerDev(name, { config, port, inspectorPort, persistTo, vars }) {
  const args = [wranglerScript, "dev", ...(config ? ["-c", config] : [])];
  args.push("--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort));
  args.push("--persist-to", persistTo, "--log-level", "error");
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  const group = startGroup(name, nodeBinary, args, { env: quietEnv });
  return { name, url: `http://127.0.0.1:${port}`, port, pid: group.pid, group };
}

/** Waits until `url` answers at all (any status: the gateway's health, a Worker's forward). */
export async function untilAnswering(target, path, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (target.group.exited) throw new Error(`${target.name} exited before answering (${target.group.code ?? target.group.signal})\n${target.group.tail.text}`);
    try {
      const res = await fetch(target.url + path);
      await res.arrayBuffer();
      return;
    } catch {
      await sleep(250);
    }
  }
  throw new Error(`${target.name} did not answer ${path} within ${timeoutMs / 1000} s\n${target.group.tail.text}`);
}
