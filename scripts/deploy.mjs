// `npm run deploy [-- ARGS]`: `wrangler deploy --env production ARGS`, but only once the target
// environment's bindings name real resources. The committed wrangler.toml carries placeholder
// ids (a fresh clone has no D1 database or KV namespace yet); deploying them would fail late or,
// worse, half-way. So this reads the configuration the way wrangler does (wrangler's own
// readConfig, environment resolution included) and refuses, one line per placeholder, before
// wrangler runs. `--env NAME` picks another environment; every argument goes on to wrangler.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const DEFAULT_ENV = "production";
const PLACEHOLDER_D1 = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;
const PLACEHOLDER_KV = /^0{32}$/;

/** The value of `--name VALUE`, `--name=VALUE` or `-n VALUE` in args, or undefined. */
export function optionOf(args, long, short) {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === long || (short && arg === short)) return args[i + 1];
    if (arg.startsWith(`${long}=`)) return arg.slice(long.length + 1);
    if (short && arg.startsWith(`${short}=`)) return arg.slice(short.length + 1);
  }
  return undefined;
}

/** What stops `config` (wrangler's resolved configuration of one environment) from being deployed, one line each. */
export function placeholdersIn(config, where) {
  const problems = [];
  for (const db of config.d1_databases ?? []) {
    if (!db.database_id || PLACEHOLDER_D1.test(db.database_id)) {
      problems.push(`${where}: D1 binding ${db.binding} has the placeholder database_id ${db.database_id ?? "(none)"}; run \`npx wrangler d1 create ${db.database_name ?? "tollgate"}\` and put the printed id there (docs/deploy.md)`);
    }
  }
  for (const kv of config.kv_namespaces ?? []) {
    if (!kv.id || PLACEHOLDER_KV.test(kv.id)) {
      problems.push(`${where}: KV binding ${kv.binding} has the placeholder id ${kv.id ?? "(none)"}; run \`npx wrangler kv namespace create ${kv.binding}\` and put the printed id there (docs/deploy.md)`);
    }
  }
  if ((config.d1_databases ?? []).length === 0) problems.push(`${where}: no D1 binding DB (wrangler environments do not inherit bindings; see docs/deploy.md)`);
  if ((config.kv_namespaces ?? []).length === 0) problems.push(`${where}: no KV binding CACHE (wrangler environments do not inherit bindings; see docs/deploy.md)`);
  const origin = config.vars?.ORIGIN_URL;
  if (typeof origin !== "string") {
    problems.push(`${where}: no ORIGIN_URL under vars (wrangler environments do not inherit vars)`);
  } else {
    let host = "";
    try {
      host = new URL(origin).hostname;
    } catch {
      problems.push(`${where}: ORIGIN_URL ${origin} is not a URL`);
    }
    if (host === "localhost" || host === "127.0.0.1" || host === "origin.example.com") {
      problems.push(`${where}: ORIGIN_URL is still ${origin}; set it to your origin API's base URL`);
    }
  }
  return problems;
}

export async function main(args, { wrangler = process.env.TOLLGATE_WRANGLER ?? "node_modules/.bin/wrangler" } = {}) {
  const env = optionOf(args, "--env", "-e") ?? DEFAULT_ENV;
  const configPath = optionOf(args, "--config", "-c") ?? "wrangler.toml";
  if (!declaresEnvironment(readFileSync(configPath, "utf8"), env)) {
    console.error(`deploy: ${configPath} has no [env.${env}] section (docs/deploy.md shows how to add one)`);
    return 1;
  }
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: configPath, env }, { hideWarnings: true });
  const problems = placeholdersIn(config, `${configPath} [env.${env}]`);
  if (problems.length > 0) {
    for (const line of problems) console.error(`deploy: ${line}`);
    console.error(`deploy: refused; nothing was deployed`);
    return 1;
  }
  const passThrough = optionOf(args, "--env", "-e") === undefined ? ["--env", env, ...args] : args;
  const run = spawnSync(wrangler, ["deploy", ...passThrough], { stdio: "inherit" });
  if (run.error) {
    console.error(`deploy: could not run ${wrangler}: ${run.error.message}`);
    return 1;
  }
  return run.status ?? 1;
}

/** Whether the TOML declares `[env.NAME]` (or a table under it): wrangler's readConfig only warns about a missing one and falls back to the top level. */
export function declaresEnvironment(toml, env) {
  const name = env.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^\\s*\\[\\[?\\s*env\\.("?)${name}\\1\\s*[.\\]]`, "m").test(toml);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exit(await main(process.argv.slice(2)));
}
