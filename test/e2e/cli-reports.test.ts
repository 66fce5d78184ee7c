// `tollgate usage report FILE.ndjson` through the real binary against a real gateway (CONTRACT §11):
// good events count once, a repeated id is a duplicate, a bad event is rejected with its line and
// the others still count (exit 1); a malformed file sends nothing (exit 2); batches of --batch.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, test } from "vitest";
import { adminCall, uniqueId } from "./support/admin";
import { cliFor, lines, runCli, scratchDir } from "./support/cli";

const gw = inject("gateway");
const scratch = scratchDir();
const tollgate = cliFor(gw, scratch);
/** The CLI as an origin runs it: with its own token of scope `report` from the environment. */
const asReporter = (token: string, ...args: string[]) => runCli(["--url", gw.url, ...args], { cwd: scratch, env: { TOLLGATE_ADMIN_TOKEN: token } });

const tenant = uniqueId("cli-rep");
let key = "";
let reportToken = "";

interface UsageRow { units: number; reported?: number; cost: string }

/** The tenant's bulk.export units this month, as the admin usage API answers them. */
async function exportUnits(): Promise<{ units: number; reported: number }> {
  const res = await adminCall<UsageRow[]>(gw, "GET", `/usage?tenant=${tenant}&surface=bulk.export&granularity=month`);
  expect(res.status).toBe(200);
  return { units: res.body.reduce((n, r) => n + r.units, 0), reported: res.body.reduce((n, r) => n + (r.reported ?? 0), 0) };
}

function ndjson(name: string, rows: (object | string)[]): string {
  const file = join(scratch, name);
  writeFileSync(file, rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n") + "\n");
  return file;
}

beforeAll(async () => {
  expect((await adminCall(gw, "POST", "/tenants", { id: tenant, kind: "customer", plan: "growth", addons: ["bulk.export"] })).status).toBe(201);
  key = (await adminCall<{ key: string }>(gw, "POST", `/tenants/${tenant}/keys`, { name: "cli-reports" })).body.key;
  // The origin's token, made as an operator would: `tollgate tokens create … --scopes report`.
  const created = await tollgate("tokens", "create", uniqueId("cli-reporter"), "--scopes", "report");
  expect(created.code, created.stderr).toBe(0);
  expect(created.stdout).toMatch(/^scopes: +report$/m);
  reportToken = /^token: +(\S+)$/m.exec(created.stdout)?.[1] ?? "";
  expect(reportToken).toMatch(/^tga_/);
});

describe("usage report", () => {
  test("good events count once, a repeated id is a duplicate, a bad one is rejected with its line: exit 1", async () => {
    // A real export request: the reported meter answers Tollgate-Units: 0; its rows come by report.
    const res = await fetch(`${gw.url}/v1/exports`, { method: "POST", headers: { Authorization: `Bearer ${key}` } });
    await res.arrayBuffer();
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get("Tollgate-Units")).toBe("0");
    const requestId = res.headers.get("Tollgate-Request-Id")!;
    expect(requestId).toBeTruthy();

    const id = uniqueId("job");
    const file = ndjson("events.ndjson", [
      { id: `${id}-a`, units: 5, requestId },
      { id: `${id}-b`, units: 7, tenant, surface: "bulk.export" },
      "",
      { id: `${id}-a`, units: 5, requestId },
      { id: `${id}-c`, units: 3, tenant: `${tenant}-nobody`, surface: "bulk.export" },
    ]);
    const before = await exportUnits();

    const run = await asReporter(reportToken, "usage", "report", file);
    expect(run.code, run.stderr).toBe(1);
    expect(lines(run.stdout)).toEqual([
      "batch 1 (lines 1–5): 2 accepted, 1 duplicate, 1 rejected",
      expect.stringMatching(new RegExp(`^  ${id}-c: unknown-tenant — .+ \\(line 5\\)$`)),
      `  duplicates (already reported, counted once): ${id}-a`,
    ]);
    expect(lines(run.stderr)).toEqual(["error: 1 of 4 event(s) rejected (listed above); the others count"]);
    expect(await exportUnits()).toEqual({ units: before.units + 12, reported: before.reported + 12 });

    // The same file again, two events a call: every good id is now a duplicate, nothing counts twice.
    const again = await asReporter(reportToken, "usage", "report", file, "--batch", "2");
    expect(again.code).toBe(1);
    expect(lines(again.stdout).filter((l) => l.startsWith("batch"))).toEqual([
      "batch 1 (lines 1–2): 0 accepted, 2 duplicates, 0 rejected",
      "batch 2 (lines 4–5): 0 accepted, 1 duplicate, 1 rejected",
    ]);
    expect(lines(again.stdout).at(-1)).toBe("4 events in 2 batches: 0 accepted, 3 duplicates, 1 rejected");
    expect(await exportUnits()).toEqual({ units: before.units + 12, reported: before.reported + 12 });

    // --json: one line per batch, the API's answer with where the batch came from.
    const json = await asReporter(reportToken, "--json", "usage", "report", file, "--batch", "3");
    expect(json.code).toBe(1);
    const answers = lines(json.stdout).map((l) => JSON.parse(l) as { batch: number; lines: number[]; accepted: number; duplicates: string[]; rejected: { id: string; code: string }[] });
    expect(answers.map((a) => [a.batch, a.lines, a.accepted, a.duplicates.length, a.rejected.map((r) => r.code)])).toEqual([
      [1, [1, 4], 0, 3, []],
      [2, [5, 5], 0, 0, ["unknown-tenant"]],
    ]);
  });

  test("only good events: exit 0", async () => {
    const id = uniqueId("job");
    const file = ndjson("good.ndjson", [{ id: `${id}-1`, units: 2, tenant, surface: "bulk.export" }, { id: `${id}-2`, units: 3, tenant, surface: "bulk.export" }]);
    const before = await exportUnits();
    const run = await asReporter(reportToken, "usage", "report", file);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("batch 1 (lines 1–2): 2 accepted, 0 duplicates, 0 rejected\n");
    expect((await exportUnits()).units).toBe(before.units + 5);
  });

  test("a malformed line: exit 2 naming it, and nothing is sent", async () => {
    const id = uniqueId("job");
    const file = ndjson("malformed.ndjson", [{ id: `${id}-1`, units: 4, tenant, surface: "bulk.export" }, { id: `${id}-2`, units: 1, tenant, surface: "bulk.export" }, '{"id": "x", "units": 1']);
    const before = await exportUnits();
    const run = await asReporter(reportToken, "usage", "report", file);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^error: .*malformed\.ndjson:3: not JSON/)]);
    expect(await exportUnits()).toEqual(before);
  });

  test("a batch the gateway refuses (a read-only token): exit 1, the problem, nothing reported", async () => {
    const reader = await adminCall<{ token: string }>(gw, "POST", "/tokens", { name: uniqueId("cli-reader"), scopes: ["read"] });
    const file = ndjson("refused.ndjson", [{ id: uniqueId("job"), units: 1, tenant, surface: "bulk.export" }]);
    const before = await exportUnits();
    const run = await asReporter(reader.body.token, "usage", "report", file);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    const [head, problem] = lines(run.stderr);
    expect(head).toBe("error: batch 1 of 1 (line 1) failed; nothing was reported");
    expect(problem).toMatch(/^ {2}403 forbidden — /);
    expect(await exportUnits()).toEqual(before);
  });

  test("--batch above 1000 is a usage error", async () => {
    const run = await tollgate("usage", "report", join(scratch, "good.ndjson"), "--batch", "1001");
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--batch.*not an integer from 1 to 1000/);
  });
});
