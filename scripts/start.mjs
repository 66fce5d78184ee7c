// `npm start`: local D1 migrations, the demo origin on :8788, the gateway on :8787 (wrangler dev,
// local D1/KV/DO state), and on an empty state the demo catalog and tenant. Arguments after `--`
// go to `wrangler dev`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createDemoOrigin } from "../examples/demo-origin.mjs";
import { ensureDevVars, localVar } from "./dev-vars.mjs";
import { portInUse } from "./port-check.mjs";

const GATEWAY_PORT = Number(process.env.PORT ?? 8787);
const ORIGIN_PORT = Number(process.env.ORIGIN_PORT ?? 8788);
const gateway = `http://localhost:${GATEWAY_PORT}`;
const wrangler = "node_modules/.bin/wrangler";
const demoKeyFile = ".wrangler/demo-key";
const partnerKeyFile = ".wrangler/demo-partner-key";
const reportTokenFile = ".wrangler/demo-report-token";

/** Misconfiguration is loud (CONTRACT §9): one line on stderr, exit 1, no stack trace. */
function fail(line) {
  console.error(`npm start: ${line}`);
  process.exit(1);
}

// Both ports before anything starts, so a second `npm start` changes nothing and says why.
for (const [port, variable, what] of [[GATEWAY_PORT, "PORT", "the gateway"], [ORIGIN_PORT, "ORIGIN_PORT", "the demo origin"]]) {
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${variable}=${process.env[variable]} is not a port number`);
  if (await portInUse(port)) fail(`port ${port} (${what}) is in use (another npm start?) — set ${variable}=… to use another`);
}

if (ensureDevVars()) console.log("created .dev.vars from .dev.vars.example (local secrets; not committed)");
const adminToken = localVar("ADMIN_TOKEN");

const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, CI: "true" } });
if (migrate.status !== 0) fail(`applying the local D1 migrations failed (wrangler d1 migrations apply DB --local exited ${migrate.status ?? migrate.signal})`);

// The demo origin reports its export jobs' rows (CONTRACT §11) with its own `report` admin token,
// created below once the gateway answers.
let reportToken;
const origin = createDemoOrigin({ reportTo: { url: gateway, token: () => reportToken } });
await origin.listen(ORIGIN_PORT);
console.log(`demo origin listening on http://127.0.0.1:${ORIGIN_PORT}`);

const dev = spawn(wrangler, ["dev", "--port", String(GATEWAY_PORT), "--var", `ORIGIN_URL:http://127.0.0.1:${ORIGIN_PORT}`, ...process.argv.slice(2)], {
  stdio: ["inherit", "inherit", "inherit"],
});
let stopping = false;
const stop = () => {
  stopping = true;
  dev.kill("SIGTERM");
  void origin.close();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("error", (error) => {
  void origin.close();
  fail(`could not run ${wrangler} (${error.message}); run npm install first`);
});
dev.on("exit", (code, signal) => {
  void origin.close();
  if (stopping) process.exit(0);
  // wrangler dev died on its own (a bad argument, a port taken meanwhile, a crash): say so once.
  fail(`wrangler dev exited (${code !== null ? `code ${code}` : signal}); the gateway is not running (its own output is above)`);
});

const adminCall = async (method, path, body) => {
  const res = await fetch(`${gateway}/_tollgate/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok && res.status !== 404) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return { status: res.status, body: text ? JSON.parse(text) : null };
};

async function waitForGateway() {
  for (let i = 0; i < 600; i++) {
    try {
      // 503 is a gateway that answers but is not yet configured (no catalog on a fresh state).
      const res = await fetch(`${gateway}/_tollgate/health`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 503) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the gateway did not start");
}

async function seed() {
  const catalog = await adminCall("GET", "/catalog");
  const tenant = await adminCall("GET", "/tenants/demo");
  if (catalog.status === 404) await adminCall("PUT", "/catalog", JSON.parse(readFileSync("examples/demo-catalog.json", "utf8")));
  // A state from before bulk.export was a reported meter: its export jobs' reports would be
  // rejected (not-reported). Say how to load the current demo catalog rather than change it unasked.
  else if (catalog.body?.catalog?.surfaces?.["bulk.export"]?.meter?.count?.from !== "reported") {
    console.warn('note: the loaded catalog\'s bulk.export is not a reported meter, so the demo origin\'s export reports will be rejected; load the current demo catalog with: npx tollgate catalog apply examples/demo-catalog.json');
  }
  if (tenant.status === 404 || !existsSync(demoKeyFile)) {
    if (tenant.status === 404) {
      await adminCall("POST", "/tenants", { id: "demo", name: "Demo Co", kind: "customer", plan: "growth", addons: ["bulk.export", "sync.pull"] });
    }
    const key = await adminCall("POST", "/tenants/demo/keys", { name: "npm start" });
    mkdirSync(".wrangler", { recursive: true });
    writeFileSync(demoKeyFile, key.body.key);
  }
  return readFileSync(demoKeyFile, "utf8").trim();
}

/**
 * The partner side of the demo: an app publisher (`demo-partner`, plan "partner") that asked the
 * customer `demo` for access to its event feed, and `demo` approved it with its own key; the
 * customer pays, the partner earns a 20% share (set by the operator: a partner never sets its own).
 */
async function seedPartner(customerKey) {
  const partner = await adminCall("GET", "/tenants/demo-partner");
  if (partner.status === 404) await adminCall("POST", "/tenants", { id: "demo-partner", name: "Demo Apps Inc", kind: "partner", plan: "partner" });
  if (partner.status === 404 || !existsSync(partnerKeyFile)) {
    const key = await adminCall("POST", "/tenants/demo-partner/keys", { name: "npm start" });
    writeFileSync(partnerKeyFile, key.body.key);
  }
  const partnerKey = readFileSync(partnerKeyFile, "utf8").trim();
  const grants = await adminCall("GET", "/grants?partner=demo-partner&customer=demo&status=active");
  if (grants.body.items.length === 0) {
    const asked = await fetch(`${gateway}/_tollgate/grants`, {
      method: "POST",
      headers: { Authorization: `Bearer ${partnerKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ customer: "demo", surfaces: ["events.feed"], payer: "customer" }),
    });
    const pending = await asked.json();
    if (!asked.ok) throw new Error(`the demo partner's grant request: ${asked.status} ${JSON.stringify(pending)}`);
    const approved = await fetch(`${gateway}/_tollgate/grants/${pending.id}/approve`, { method: "POST", headers: { Authorization: `Bearer ${customerKey}` } });
    if (!approved.ok) throw new Error(`approving the demo grant: ${approved.status} ${await approved.text()}`);
    await adminCall("PATCH", `/grants/${pending.id}`, { share: "0.2" });
  }
  return partnerKey;
}

/**
 * The demo origin's admin token with the scope `report` alone (it can report usage and nothing
 * else), kept in .wrangler/demo-report-token; created again when it is missing or was revoked.
 */
async function seedReportToken() {
  const stored = existsSync(reportTokenFile) ? readFileSync(reportTokenFile, "utf8").trim() : "";
  if (stored) {
    const tokens = await adminCall("GET", "/tokens");
    const live = tokens.body.some((t) => t.revokedAt === null && t.scopes.includes("report") && stored.startsWith(t.prefix));
    if (live) return stored;
  }
  const created = await adminCall("POST", "/tokens", { name: "demo-origin-reporter", scopes: ["report"] });
  mkdirSync(".wrangler", { recursive: true });
  writeFileSync(reportTokenFile, created.body.token);
  return created.body.token;
}

try {
  await waitForGateway();
  const key = await seed();
  const partnerKey = await seedPartner(key);
  reportToken = await seedReportToken();
  const health = await (await fetch(`${gateway}/_tollgate/health`)).json();
  for (const [name, check] of Object.entries(health.checks ?? {})) if (!check.ok) console.warn(`health: ${name}: ${check.detail}`);
  console.log(`
Tollgate is running on ${gateway} in front of the demo origin.

  demo tenant:  demo (plan "growth", add-ons bulk.export, sync.pull)
  API key:      ${key}
  admin token:  ${adminToken}
  demo partner: demo-partner (plan "partner"), granted events.feed by demo: demo pays, the partner earns 20%
  partner key:  ${partnerKey}
  report token: ${reportToken}  (scope "report": the demo origin reports its export jobs' rows with it)

Try:
  curl -i -H "Authorization: Bearer ${key}" ${gateway}/v1/events
  curl -i -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" -d '{"records":[{"id":1},{"id":2},{"id":3}]}' ${gateway}/v1/records
  curl -i -H "Authorization: Bearer ${key}" ${gateway}/v1/sync/dump?bytes=2048

  # an export job: answered 202 with Tollgate-Units: 0; the origin reports its 1200 rows ~3 s later
  curl -i -X POST -H "Authorization: Bearer ${key}" "${gateway}/v1/exports?rows=1200"
  sleep 4; curl -s -H "Authorization: Bearer ${adminToken}" "${gateway}/_tollgate/admin/usage?tenant=demo&surface=bulk.export&granularity=hour"

  # the partner app calling on behalf of demo (Tollgate-Payer: demo in the answer):
  curl -i -H "Authorization: Bearer ${partnerKey}" -H "Tollgate-On-Behalf-Of: demo" ${gateway}/v1/events
  curl -s -H "Authorization: Bearer ${partnerKey}" "${gateway}/_tollgate/statement?period=$(date -u +%Y-%m)"

  curl -s -H "Authorization: Bearer ${adminToken}" ${gateway}/_tollgate/admin/tenants/demo/limits
  curl -s -H "Authorization: Bearer ${adminToken}" "${gateway}/_tollgate/admin/usage?tenant=demo&granularity=day"

CLI (on localhost it reads the admin token from .dev.vars):
  npx tollgate tenants show demo
  npx tollgate tenants update demo --set-override 'records.write.quota={"limit":50000,"period":"day","overage":"bill"}' --dry-run
  npx tollgate usage --tenant demo --granularity day
  echo '{"id":"manual-1","units":10,"tenant":"demo","surface":"bulk.export"}' | npx tollgate usage report -

API reference: ${gateway}/_tollgate/docs
Dashboard:     ${gateway}/_tollgate/dashboard  (enter the admin token)
Tenant portal: ${gateway}/_tollgate/portal  (enter the API key)
`);
} catch (error) {
  stop();
  fail(error instanceof Error ? error.message : String(error));
}
