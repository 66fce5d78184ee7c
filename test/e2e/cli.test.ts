// The real `tollgate` binary (bin/tollgate.mjs, as `npx tollgate` runs it) against a real gateway:
// exit codes 0/1/2, one-line problems, the catalog's diff and stranded tenants, safe tenant updates.
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, inject, test } from "vitest";
import { adminCall, uniqueId } from "./support/admin";
import { cliFor, lines, nodeBin, root, type Run, runCli as runCliIn, scratchDir } from "./support/cli";

const gw = inject("gateway");
const scratch = scratchDir();
const runCli = (args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) => runCliIn(args, { ...options, cwd: options.cwd ?? scratch });

/** The CLI pointed at the e2e gateway with its admin token. */
const tollgate = cliFor(gw, scratch);

function writeJson(name: string, value: unknown): string {
  const file = join(scratch, name);
  writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

const demoCatalog = JSON.parse(readFileSync(join(root, "examples/demo-catalog.json"), "utf8")) as {
  plans: Record<string, { surfaces: Record<string, { quota?: { limit: number } }> }>;
};

describe("catalog validate (offline)", () => {
  // A --url nothing listens on: validate must not need it.
  const offline = ["--url", "http://127.0.0.1:1"];

  test("a valid catalog: exit 0, 'valid'", async () => {
    const run = await runCli([...offline, "catalog", "validate", join(root, "examples/demo-catalog.json")]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^valid: .*demo-catalog\.json \(\d+ surfaces, 3 plans\)\n$/);
  });

  test("an invalid catalog: exit 1 and every error as path: message", async () => {
    const bad = structuredClone(demoCatalog) as Record<string, unknown> & typeof demoCatalog;
    bad.plans.growth!.surfaces["no.such.surface"] = { rule: "included" } as never;
    (bad.plans.starter!.surfaces["events.feed"] as Record<string, unknown>).rate = { limit: -1, window: 1 };
    const run = await runCli([...offline, "catalog", "validate", writeJson("bad-catalog.json", bad)]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    const [head, ...issues] = lines(run.stderr);
    expect(head).toMatch(/^error: .*bad-catalog\.json is not a valid catalog \(2 problems\)$/);
    expect(issues).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ {2}\/plans\/growth\/surfaces\/no\.such\.surface: .*unknown surface/),
      expect.stringMatching(/^ {2}\/plans\/starter\/surfaces\/events\.feed\/rate\/limit: /),
    ]));
    expect(issues).toHaveLength(2);

    const json = await runCli([...offline, "--json", "catalog", "validate", join(scratch, "bad-catalog.json")]);
    expect(json.code).toBe(1);
    const verdict = JSON.parse(json.stdout) as { valid: boolean; errors: { path: string; message: string }[] };
    expect(verdict.valid).toBe(false);
    expect(verdict.errors.map((e) => e.path).sort()).toEqual(["/plans/growth/surfaces/no.such.surface", "/plans/starter/surfaces/events.feed/rate/limit"]);
  });

  test("a file that is not JSON, or not there: exit 1, one line", async () => {
    const notJson = join(scratch, "not.json");
    writeFileSync(notJson, "{ surfaces:");
    for (const file of [notJson, join(scratch, "missing.json")]) {
      const run = await runCli([...offline, "catalog", "validate", file]);
      expect(run.code).toBe(1);
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toMatch(/^error: (cannot read .*missing\.json: no such file|.*not\.json is not JSON)/);
    }
  });
});

describe("catalog diff and apply", () => {
  test("an edit that removes a plan: the diff names the change and the stranded tenant; apply is refused until --force", async () => {
    const stranded = uniqueId("cli-starter");
    expect((await adminCall(gw, "POST", "/tenants", { id: stranded, kind: "customer", plan: "starter" })).status).toBe(201);
    const before = await adminCall<{ version: number }>(gw, "GET", "/catalog");
    const edited = structuredClone(demoCatalog);
    delete edited.plans.starter;
    const recordsQuota = edited.plans.growth!.surfaces["records.write"]!.quota!;
    const oldLimit = recordsQuota.limit;
    recordsQuota.limit = oldLimit + 1;
    const file = writeJson("edited-catalog.json", edited);
    try {
      const diff = await tollgate("catalog", "diff", file);
      expect(diff.stderr).toBe("");
      expect(diff.code).toBe(0);
      expect(diff.stdout).toContain("  - plan /plans/starter\n");
      expect(diff.stdout).toContain(`  ~ quota /plans/growth/surfaces/records.write/quota: `);
      expect(diff.stdout).toContain(`"limit":${oldLimit + 1}`);
      expect(diff.stdout).toContain(`  ${stranded}: plan "starter" is not in the catalog (/plan)\n`);

      const dry = await tollgate("catalog", "apply", file, "--dry-run");
      expect(dry.code).toBe(1);
      expect(dry.stdout).toContain("dry run, nothing changed");
      expect(dry.stdout).toContain("  - plan /plans/starter\n");
      expect(dry.stdout).toContain(`  ${stranded}: plan "starter"`);
      expect(lines(dry.stderr)).toEqual([expect.stringMatching(/^error: apply would be refused: it strands \d+ tenant\(s\); add --force/)]);

      const dryJson = await tollgate("--json", "catalog", "apply", file, "--dry-run");
      expect(dryJson.code).toBe(1);
      const answer = JSON.parse(dryJson.stdout) as { dryRun: boolean; stranded: { tenant: string }[] };
      expect(answer.dryRun).toBe(true);
      expect(answer.stranded.map((s) => s.tenant)).toContain(stranded);
      expect((await adminCall<{ version: number }>(gw, "GET", "/catalog")).body.version).toBe(before.body.version);

      const refused = await tollgate("catalog", "apply", file);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe("");
      const [problem, ...notes] = lines(refused.stderr);
      expect(problem).toMatch(/^error: 409 catalog-strands-tenants — /);
      expect(notes).toContain(`  ${stranded}: plan "starter" is not in the catalog (/plan)`);
      expect(notes.at(-1)).toBe("  apply anyway with --force");
      expect((await adminCall<{ version: number }>(gw, "GET", "/catalog")).body.version).toBe(before.body.version);

      const forced = await tollgate("catalog", "apply", file, "--force");
      expect(forced.stderr).toBe("");
      expect(forced.code).toBe(0);
      expect(forced.stdout).toMatch(/^applied: catalog version \d+\n/);
      expect((await adminCall<{ version: number }>(gw, "GET", "/catalog")).body.version).toBeGreaterThan(before.body.version);
    } finally {
      // Other e2e files rely on the demo catalog.
      const restore = await tollgate("catalog", "apply", join(root, "examples/demo-catalog.json"), "--force");
      expect(restore.code, restore.stderr).toBe(0);
      await adminCall(gw, "DELETE", `/tenants/${stranded}`);
    }
  });

  test("simulate: a catalog doubling a price, per tenant and surface, and recommendations for the same calls", async () => {
    const id = uniqueId("cli-sim");
    expect((await adminCall(gw, "POST", "/tenants", { id, kind: "customer", plan: "growth" })).status).toBe(201);
    const { body: created } = await adminCall<{ key: string }>(gw, "POST", `/tenants/${id}/keys`, {});
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gw.url}/v1/records`, { method: "POST", headers: { Authorization: `Bearer ${created.key}`, "Content-Type": "application/json" }, body: JSON.stringify({ records: [1, 2] }) });
      await res.arrayBuffer();
      expect(res.headers.get("Tollgate-Cost")).toBe("0.002");
    }
    const doubled = structuredClone(demoCatalog) as unknown as { plans: Record<string, { surfaces: Record<string, { price?: { unit: string; overage?: string } }> }> };
    doubled.plans.growth!.surfaces["records.write"]!.price = { unit: "0.002", overage: "0.003" };
    const file = writeJson("doubled-catalog.json", doubled);
    const before = await adminCall<{ version: number }>(gw, "GET", "/catalog");

    const run = await tollgate("catalog", "simulate", file, "--tenant", id);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^TENANT +SURFACE +COST NOW +REFUSED NOW +COST THEN +REFUSED THEN +DELTA$/m);
    expect(run.stdout).toMatch(new RegExp(`^${id} +records\\.write +0\\.004 +0 +0\\.008 +0 +0\\.004$`, "m"));
    expect(run.stdout).toMatch(/^delta: +0\.004$/m);
    expect(run.stdout).toContain("stranded tenants: none");
    const json = await tollgate("--json", "catalog", "simulate", file, "--tenant", id);
    expect(json.code).toBe(0);
    const sim = JSON.parse(json.stdout) as { items: { tenant: string; delta: string }[]; totals: { delta: string } };
    expect(sim.items).toEqual([expect.objectContaining({ tenant: id, surface: "records.write", delta: "0.004" })]);
    expect((await adminCall<{ version: number }>(gw, "GET", "/catalog")).body.version).toBe(before.body.version);
    expect((await tollgate("catalog", "simulate", join(scratch, "missing.json"))).code).toBe(1);

    const recs = await tollgate("recommendations", id);
    expect(recs.code, recs.stderr).toBe(0);
    expect(recs.stdout).toMatch(/^use-batching +records\.write +0\.002 +calls=2 units=4 minUnits=10/m);
    expect(recs.stdout).toMatch(/^use-idempotency-keys +records\.write +0\.0004 /m);
    await adminCall(gw, "DELETE", `/tenants/${id}`);
  });

  test("a stale --if-match refuses the apply with one line", async () => {
    const run = await tollgate("catalog", "apply", join(root, "examples/demo-catalog.json"), "--if-match", '"stale-etag"');
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^error: 412 precondition-failed/)]);
  });

  test("show and versions", async () => {
    const show = await tollgate("catalog", "show");
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^version: +\d+\n/);
    expect(show.stdout).toContain("events.feed");
    const versions = await tollgate("--json", "catalog", "versions");
    expect(versions.code).toBe(0);
    expect((JSON.parse(versions.stdout) as unknown[]).length).toBeGreaterThan(0);
  });
});

describe("tenants", () => {
  test("create, show, update --dry-run, update, delete", async () => {
    const id = uniqueId("cli-t");
    const created = await tollgate("tenants", "create", "--id", id, "--plan", "growth", "--kind", "customer", "--name", "Acme CLI", "--set-override", 'records.write.rate={"limit":5,"window":1}');
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`created tenant ${id}`);

    const show = await tollgate("tenants", "show", id);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^plan: +growth$/m);
    expect(show.stdout).toMatch(/^etag: +".+"$/m);
    expect(show.stdout).toMatch(/^records\.write +metered +5\/1s/m);

    const quota = 'records.write.quota={"limit":9000,"period":"day","overage":"bill"}';
    const dry = await tollgate("tenants", "update", id, "--set-override", quota, "--plan", "starter", "--dry-run");
    expect(dry.stderr).toBe("");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`dry run, nothing changed (tenant ${id}`);
    expect(dry.stdout).toMatch(/^\/plan +"growth" +"starter"$/m);
    expect(dry.stdout).toMatch(/^\/overrides\/records\.write\/quota\/limit +\(none\) +9000$/m);
    const unchanged = await adminCall<{ plan: string; overrides: Record<string, unknown> }>(gw, "GET", `/tenants/${id}`);
    expect(unchanged.body.plan).toBe("growth");
    expect(unchanged.body.overrides).toEqual({ "records.write": { rate: { limit: 5, window: 1 } } });

    // A quota change through the CLI keeps the surface's rate override (merge, not replace).
    const update = await tollgate("tenants", "update", id, "--set-override", quota);
    expect(update.stderr).toBe("");
    expect(update.code).toBe(0);
    expect(update.stdout).toContain(`updated tenant ${id}`);
    const merged = await adminCall<{ overrides: Record<string, unknown> }>(gw, "GET", `/tenants/${id}`);
    expect(merged.body.overrides).toEqual({ "records.write": { rate: { limit: 5, window: 1 }, quota: { limit: 9000, period: "day", overage: "bill" } } });

    const removed = await tollgate("tenants", "update", id, "--remove-override", "records.write.rate");
    expect(removed.code, removed.stderr).toBe(0);
    expect((await adminCall<{ overrides: Record<string, unknown> }>(gw, "GET", `/tenants/${id}`)).body.overrides).toEqual({
      "records.write": { quota: { limit: 9000, period: "day", overage: "bill" } },
    });

    const json = await tollgate("--json", "tenants", "show", id);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { id: string }).id).toBe(id);

    const list = await tollgate("tenants", "list", "--search", id);
    expect(list.code).toBe(0);
    expect(lines(list.stdout)).toEqual([expect.stringMatching(/^ID +NAME/), expect.stringMatching(new RegExp(`^${id} +Acme CLI +customer +growth +active`))]);

    const deleted = await tollgate("tenants", "delete", id);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe(`deleted tenant ${id}\n`);
    const gone = await tollgate("tenants", "show", id);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toBe("");
    expect(lines(gone.stderr)).toEqual([expect.stringMatching(/^error: 404 not-found — /)]);
  });

  test("a stale --if-match: exit 1, one line, nothing changed", async () => {
    const id = uniqueId("cli-stale");
    expect((await adminCall(gw, "POST", "/tenants", { id, kind: "customer", plan: "growth" })).status).toBe(201);
    const read = await adminCall(gw, "GET", `/tenants/${id}`);
    const staleEtag = read.headers.get("ETag");
    expect(staleEtag).toBeTruthy();
    expect((await tollgate("tenants", "update", id, "--status", "suspended")).code).toBe(0);

    const stale = await tollgate("tenants", "update", id, "--plan", "starter", "--if-match", staleEtag!);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toBe("");
    expect(lines(stale.stderr)).toEqual([expect.stringMatching(/^error: 412 precondition-failed — \S/)]);
    expect((await adminCall<{ plan: string }>(gw, "GET", `/tenants/${id}`)).body.plan).toBe("growth");

    // The dry run says so too, without sending anything.
    const dry = await tollgate("tenants", "update", id, "--plan", "starter", "--if-match", staleEtag!, "--dry-run");
    expect(dry.code).toBe(1);
    expect(lines(dry.stderr)).toEqual([expect.stringMatching(/^error: tenant .* changed since ETag/)]);

    const staleDelete = await tollgate("tenants", "delete", id, "--if-match", staleEtag!);
    expect(staleDelete.code).toBe(1);
    expect(lines(staleDelete.stderr)).toEqual([expect.stringMatching(/^error: 412 precondition-failed/)]);
    expect((await adminCall(gw, "GET", `/tenants/${id}`)).status).toBe(200);
    await adminCall(gw, "DELETE", `/tenants/${id}`);
  });

  test("input the Worker's schema refuses is a usage error (exit 2), sent nowhere", async () => {
    const create = await tollgate("tenants", "create", "--id", "not an id!", "--plan", "growth", "--kind", "customer");
    expect(create.code).toBe(2);
    expect(lines(create.stderr)).toEqual(["error: the tenant is not valid", expect.stringMatching(/^ {2}\/id: tenant ids are/)]);
    const kind = await tollgate("tenants", "create", "--id", "x", "--plan", "growth", "--kind", "robot");
    expect(kind.code).toBe(2);
    const id = uniqueId("cli-bad");
    expect((await adminCall(gw, "POST", "/tenants", { id, kind: "customer", plan: "growth" })).status).toBe(201);
    const quota = await tollgate("tenants", "update", id, "--set-override", 'records.write.quota={"limit":-5,"period":"day"}');
    expect(quota.code).toBe(2);
    expect(quota.stderr).toContain("/overrides/records.write/quota/limit");
    const nothing = await tollgate("tenants", "update", id);
    expect(nothing.code).toBe(2);
    await adminCall(gw, "DELETE", `/tenants/${id}`);
  });
});

describe("keys, limits, usage, audit, tokens", () => {
  test("a key made by the CLI serves a request that usage then shows, as CSV and JSON", async () => {
    const id = uniqueId("cli-use");
    expect((await tollgate("tenants", "create", "--id", id, "--plan", "growth", "--kind", "customer")).code).toBe(0);
    const key = await tollgate("--json", "keys", "create", id, "--name", "ci");
    expect(key.code).toBe(0);
    const { key: secret, id: keyId } = JSON.parse(key.stdout) as { key: string; id: string };
    const res = await fetch(`${gw.url}/v1/events`, { headers: { Authorization: `Bearer ${secret}` } });
    await res.arrayBuffer();
    expect(res.status).toBe(200);

    const csv = await tollgate("usage", "--tenant", id, "--format", "csv");
    expect(csv.code).toBe(0);
    const [header, ...rows] = lines(csv.stdout);
    expect(header).toMatch(/tenant/);
    expect(rows.some((r) => r.includes(id) && r.includes("events.feed"))).toBe(true);
    const json = await tollgate("usage", "--tenant", id, "--format", "json");
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { tenant: string; surface: string; requests: number }[];
    expect(parsed).toEqual([expect.objectContaining({ tenant: id, surface: "events.feed", requests: 1 })]);
    const table = await tollgate("usage", "--tenant", id);
    expect(table.stdout).toMatch(new RegExp(`^${id} +events\\.feed +\\S+ +1 `, "m"));
    const badDate = await tollgate("usage", "--from", "yesterday");
    expect(badDate.code).toBe(2);

    const limits = await tollgate("limits", "show", id);
    expect(limits.code).toBe(0);
    expect(limits.stdout).toMatch(/^events\.feed /m);
    expect((await tollgate("limits", "reset", id, "--what", "rate")).code).toBe(0);
    expect((await tollgate("limits", "reset", id, "--what", "everything")).code).toBe(2);

    const keys = await tollgate("keys", "list", id);
    expect(keys.stdout).toContain(keyId);
    expect((await tollgate("keys", "revoke", id, keyId)).code).toBe(0);
    const after = await fetch(`${gw.url}/v1/events`, { headers: { Authorization: `Bearer ${secret}` } });
    await after.arrayBuffer();
    expect(after.status).toBe(401);

    const audit = await tollgate("audit", "--target", `tenant:${id}/key:${keyId}`, "--limit", "10");
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/key\.revoke/);
    expect(audit.stdout).toMatch(/key\.create/);
    await adminCall(gw, "DELETE", `/tenants/${id}`);
  });

  test("admin tokens: create, list, revoke; a read token is refused a mutation", async () => {
    const name = uniqueId("cli-token");
    const created = await tollgate("--json", "tokens", "create", name, "--scopes", "read");
    expect(created.code).toBe(0);
    const { id, token } = JSON.parse(created.stdout) as { id: string; token: string };
    expect((await tollgate("tokens", "list")).stdout).toContain(name);
    const refused = await runCli(["--url", gw.url, "--token", token, "tenants", "create", "--id", uniqueId("ro"), "--plan", "growth", "--kind", "customer"]);
    expect(refused.code).toBe(1);
    expect(lines(refused.stderr)).toEqual([expect.stringMatching(/^error: 403 forbidden — /)]);
    expect((await tollgate("tokens", "revoke", id)).code).toBe(0);
  });
});

describe("exit codes and problems", () => {
  test.each([
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["tenants", "show"], /missing required argument 'id'/],
    [["tenants", "list", "--limit", "many"], /'--limit <n>' argument 'many' is invalid/],
    [["tenants", "list", "--frob"], /unknown option '--frob'/],
    [["--url", "not a url", "tenants", "list"], /is not a URL/],
    [[], /Usage: tollgate/],
  ])("%j is a usage error: exit 2", async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  test("without the bundle, the binary says in one line to run npm install", async () => {
    const clone = mkdtempSync(join(scratch, "clone-"));
    mkdirSync(join(clone, "bin"));
    copyFileSync(join(root, "bin/tollgate.mjs"), join(clone, "bin/tollgate.mjs"));
    const run = await new Promise<Run>((done) => {
      const child = spawn(nodeBin, [join(clone, "bin/tollgate.mjs"), "--help"], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => done({ code, stdout: "", stderr }));
    });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/build\/tollgate\.mjs is missing.*run `npm install`/)]);
  });

  test("--help and --version exit 0", async () => {
    expect((await runCli(["--help"])).code).toBe(0);
    expect((await runCli(["tenants", "update", "--help"])).stdout).toContain("--set-override");
    expect((await runCli(["--version"])).code).toBe(0);
  });

  test("a gateway that is not there: exit 1, one line naming the URL", async () => {
    const closed = await new Promise<number>((done) => {
      const server = createServer();
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => done(port));
      });
    });
    const url = `http://127.0.0.1:${closed}`;
    const run = await runCli(["--url", url, "tenants", "list"]);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([`error: cannot reach ${url}: ECONNREFUSED`]);
  });

  test("no token: the 401 says how to give one; a loopback gateway takes ./.dev.vars's ADMIN_TOKEN", async () => {
    const none = await runCli(["--url", gw.url, "tenants", "list"]);
    expect(none.code).toBe(1);
    expect(lines(none.stderr)).toEqual([expect.stringMatching(/^error: 401 unauthenticated/), "  no admin token was sent: give --token or set TOLLGATE_ADMIN_TOKEN"]);
    const project = mkdtempSync(join(scratch, "project-"));
    writeFileSync(join(project, ".dev.vars"), `ORIGIN_SECRET=x\nADMIN_TOKEN=${gw.adminToken}\n`);
    const local = await runCli(["tenants", "list", "--limit", "1"], { cwd: project, env: { TOLLGATE_URL: gw.url } });
    // No error; only the paging hint when other e2e files ran first and left more than one tenant.
    expect(local.stderr).toMatch(/^(more: --cursor \S+\n)?$/);
    expect(local.code).toBe(0);
  });

  test("--json passes the problem document through on stdout too", async () => {
    const run = await tollgate("--json", "tenants", "show", "no-such-tenant-cli");
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout) as { type: string }).type).toBe("urn:tollgate:problem:not-found");
    expect(lines(run.stderr)).toHaveLength(1);
  });
});
