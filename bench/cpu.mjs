// CPU time from /proc, in ms: per process tree (the workerd processes a `wrangler dev` serves a
// target with), and the whole machine (to see how much of a round other programs took).
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

const clockTicks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
export const tickMs = 1000 / clockTicks;

/** pid → { ppid, comm, cpuMs } for every process, from /proc/<pid>/stat (fields 4, 2, 14 + 15). */
export function processTable() {
  const table = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    const close = stat.lastIndexOf(")"); // comm may itself contain spaces and parentheses
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" "); // fields[0] is field 3 (state)
    table.set(Number(entry), { ppid: Number(fields[1]), comm, cpuMs: (Number(fields[11]) + Number(fields[12])) * tickMs });
  }
  return table;
}

/** Every pid in the tree under `rootPid` (itself included). */
function treeOf(rootPid, table) {
  const children = new Map();
  for (const [pid, p] of table) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  const pids = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.pop();
    if (table.has(pid)) pids.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return pids;
}

/**
 * The workerd processes of one `wrangler dev`: `proxy` listens on the public port and forwards
 * to `runtime`, which runs the Worker (and its Durable Objects). Both serve every request.
 */
export function workerdOf(rootPid, publicPort) {
  const table = processTable();
  const roles = { proxy: [], runtime: [] };
  for (const pid of treeOf(rootPid, table)) {
    if (table.get(pid).comm !== "workerd") continue;
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {}
    (cmdline.includes(`=127.0.0.1:${publicPort} `) ? roles.proxy : roles.runtime).push(pid);
  }
  return roles;
}

/**
 * CPU ms used so far by one target: its whole tree (`all`: wrangler's node too), its workerd
 * processes (`workerd`), and of those the one that runs the Worker (`runtime`). Children that
 * exited are not counted: workerd lives as long as its `wrangler dev`.
 */
function targetCpu({ pid, runtimePids = [] }, table) {
  const sums = { all: 0, workerd: 0, runtime: 0 };
  for (const p of treeOf(pid, table)) {
    const { comm, cpuMs } = table.get(p);
    sums.all += cpuMs;
    if (comm === "workerd") sums.workerd += cpuMs;
    if (runtimePids.includes(p)) sums.runtime += cpuMs;
  }
  return sums;
}

/** Machine-wide busy CPU ms (all cores: user+nice+system+irq+softirq+steal) from /proc/stat. */
export function machineBusyMs() {
  const [, ...values] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
  return (user + nice + system + irq + softirq + steal) * tickMs;
}

/** One reading of everything a round's CPU accounting needs. */
export function cpuSnapshot(roots) {
  const table = processTable();
  const self = process.cpuUsage();
  return {
    trees: Object.fromEntries(Object.entries(roots).map(([name, root]) => [name, targetCpu(root, table)])),
    loadGenerator: (self.user + self.system) / 1000,
    machine: machineBusyMs(),
  };
}
