// Child processes of `npm run bench`: each in its own process group (detached), so that stopping
// one stops everything it started (wrangler → workerd), also on Ctrl-C and on errors.
import { spawn } from "node:child_process";
import { createServer } from "node:net";

const groups = new Set();

/** Spawns `command` as the leader of a new process group; stdout/stderr kept (last 4 kB) for error messages. */
export function startGroup(name, command, args, options = {}) {
  const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const tail = { text: "" };
  const keep = (chunk) => (tail.text = (tail.text + chunk.toString()).slice(-4096));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const group = { name, child, pid: child.pid, tail, exited: false };
  child.on("exit", (code, signal) => Object.assign(group, { exited: true, code, signal }));
  groups.add(group);
  return group;
}

const signalGroup = (pid, signal) => {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // the group is already gone
  }
};

/** SIGTERM to every process group we started, then SIGKILL to what is left after `graceMs`. */
export async function stopAllGroups(graceMs = 3000) {
  const live = [...groups].filter((g) => signalGroup(g.pid, "SIGTERM"));
  const deadline = Date.now() + graceMs;
  while (live.some((g) => signalGroup(g.pid, 0)) && Date.now() < deadline) await sleep(100);
  for (const g of live) signalGroup(g.pid, "SIGKILL");
  groups.clear();
}

/** Synchronous last resort for `exit` handlers, where no await runs. */
export function killAllGroupsNow() {
  for (const g of groups) signalGroup(g.pid, "SIGKILL");
  groups.clear();
}

/** `count` distinct loopback ports nothing listens on right now (held together, so none repeats). */
export async function freePorts(count) {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise((resolve, reject) => {
        const server = createServer();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(server));
      }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
