// `tollgate catalog validate|diff|apply|simulate|show|versions` (CONTRACT §2, §9). Validation and the diff
// use the Worker's own parseCatalog and diffCatalogs, so the CLI can never disagree with the API.
import type { Command } from "commander";
import { type CatalogChange, describeChange, diffCatalogs, type StrandedTenant } from "../../src/catalog/diff";
import { type Catalog, parseCatalog } from "../../src/catalog/schema";
import type { CliContext, CommandGroup } from "../context";
import { CommandFailure, ProblemAnswer } from "../errors";
import { readJsonFile } from "../files";
import type { Output } from "../output";
import { issueLines } from "../problems";

/** The file, validated offline; exit 1 listing every issue when it is not a valid catalog. */
function catalogFile(file: string): { text: string; catalog: Catalog } {
  const { text, value } = readJsonFile(file);
  const parsed = parseCatalog(value);
  if (!parsed.ok) throw new CommandFailure(`${file} is not a valid catalog (${parsed.errors.length} problem${parsed.errors.length === 1 ? "" : "s"})`, 1, issueLines(parsed.errors));
  return { text, catalog: parsed.catalog };
}

/** JSON with object members in sorted order, to compare two diffs whatever order their values' members came in. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === "object" && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));

interface DryRunAnswer {
  dryRun: true;
  version: number | null;
  changes: CatalogChange[];
  stranded: StrandedTenant[];
}

interface SimulationAnswer {
  from: string;
  to: string;
  items: { tenant: string; surface: string; current: { cost: string; refusals: number }; candidate: { cost: string; refusals: number }; delta: string }[];
  totals: { current: string; candidate: string; delta: string };
  stranded: StrandedTenant[];
  changes: CatalogChange[];
  notes: string[];
}

/** A date alone is midnight UTC; anything else goes to the gateway as written (it validates). */
const isoOf = (text: string) => (/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);

export const strandedLines = (stranded: readonly StrandedTenant[]) => stranded.flatMap((s) => s.reasons.map((r) => `  ${s.tenant}: ${r.message} (${r.path})`));

function printChanges(out: Output, changes: readonly CatalogChange[]): void {
  out.line(changes.length === 0 ? "no changes" : `changes (${changes.length}):`);
  for (const c of changes) out.line(`  ${describeChange(c)}`);
}

function printStranded(out: Output, stranded: readonly StrandedTenant[]): void {
  if (stranded.length === 0) return out.line("stranded tenants: none");
  out.line(`stranded tenants (${stranded.length}):`);
  for (const line of strandedLines(stranded)) out.line(line);
}

/** PUT /catalog?dryRun=true, refusing an answer that is not a dry run (a gateway too old to know it). */
async function dryRun(ctx: CliContext, text: string, force: boolean): Promise<{ answer: DryRunAnswer; text: string }> {
  const res = await ctx.client().call<DryRunAnswer>("PUT", "/catalog", { query: { dryRun: true, ...(force && { force: true }) }, raw: text });
  if (res.body?.dryRun !== true || !Array.isArray(res.body.changes) || !Array.isArray(res.body.stranded)) {
    throw new CommandFailure("the gateway did not answer a dry run (PUT /catalog?dryRun=true); it may be older than this CLI");
  }
  return { answer: res.body, text: res.text };
}

async function currentCatalog(ctx: CliContext): Promise<{ version: number; catalog: Catalog; etag: string | null } | null> {
  try {
    const res = await ctx.client().call<{ version: number; catalog: unknown }>("GET", "/catalog");
    const parsed = parseCatalog(res.body.catalog);
    // The stored catalog was valid when stored; a newer schema may read it differently, so fall back to it as is.
    return { version: res.body.version, catalog: parsed.ok ? parsed.catalog : (res.body.catalog as Catalog), etag: res.headers.get("ETag") };
  } catch (error) {
    if (error instanceof ProblemAnswer && error.status === 404) return null;
    throw error;
  }
}

export const catalogCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  const catalog = program.command("catalog").description("validate, compare and apply catalogs");

  catalog
    .command("validate")
    .description("check a catalog file offline with the gateway's own schema (no network)")
    .argument("<file>", "catalog JSON file")
    .action((file: string) => {
      const out = ctx.out();
      if (out.json) {
        // Machines get the verdict on stdout as JSON, the issues in the same shape as a problem's errors[].
        const parsed = parseCatalog(readJsonFile(file).value);
        out.value(parsed.ok ? { valid: true } : { valid: false, errors: parsed.errors });
        if (!parsed.ok) throw new CommandFailure(`${file} is not a valid catalog (${parsed.errors.length} problem${parsed.errors.length === 1 ? "" : "s"})`);
        return;
      }
      const { catalog: valid } = catalogFile(file);
      out.line(`valid: ${file} (${Object.keys(valid.surfaces).length} surfaces, ${Object.keys(valid.plans).length} plans)`);
    });

  catalog
    .command("diff")
    .description("what a catalog file changes from the current catalog, and which tenants it would strand")
    .argument("<file>", "catalog JSON file")
    .action(async (file: string) => {
      const { text, catalog: next } = catalogFile(file);
      const current = await currentCatalog(ctx);
      const changes = diffCatalogs(current?.catalog ?? null, next);
      const { answer, text: answerText } = await dryRun(ctx, text, false);
      const out = ctx.out();
      if (out.json) return out.raw({ text: answerText });
      out.line(current ? `current: version ${current.version}${current.etag ? ` (ETag ${current.etag})` : ""}` : "current: no catalog loaded");
      printChanges(out, changes);
      printStranded(out, answer.stranded);
      if (canonical(answer.changes) !== canonical(changes)) out.error("note: the gateway computes a different diff from this CLI's (it may run another version); --json shows the gateway's");
    });

  catalog
    .command("apply")
    .description("store a catalog file as the new version; refused if it strands tenants unless --force")
    .argument("<file>", "catalog JSON file")
    .option("--dry-run", "show the changes and stranded tenants, change nothing")
    .option("--force", "apply even if it strands tenants")
    .option("--if-match <etag>", "apply only if the current catalog still has this ETag (from `catalog show`)")
    .action(async (file: string, opts: { dryRun?: boolean; force?: boolean; ifMatch?: string }) => {
      const { text } = catalogFile(file);
      const out = ctx.out();
      if (opts.dryRun) {
        const { answer, text: answerText } = await dryRun(ctx, text, opts.force === true);
        const refused = answer.stranded.length > 0 && !opts.force;
        if (out.json) out.raw({ text: answerText });
        else {
          out.line(`dry run, nothing changed (current version ${answer.version ?? "none"})`);
          printChanges(out, answer.changes);
          printStranded(out, answer.stranded);
        }
        if (refused) throw new CommandFailure(`apply would be refused: it strands ${answer.stranded.length} tenant(s); add --force to apply anyway`);
        return;
      }
      try {
        const res = await ctx.client().call<{ version: number; changes?: CatalogChange[]; stranded?: StrandedTenant[] }>("PUT", "/catalog", {
          query: { ...(opts.force && { force: true }) },
          raw: text,
          ...(opts.ifMatch !== undefined && { headers: { "If-Match": opts.ifMatch } }),
        });
        if (out.json) return out.raw(res);
        const changes = res.body.changes ?? [];
        out.line(changes.length === 0 ? `unchanged: catalog version ${res.body.version}` : `applied: catalog version ${res.body.version}`);
        if (changes.length > 0) printChanges(out, changes);
        if ((res.body.stranded ?? []).length > 0) {
          out.line("stranded by --force:");
          for (const line of strandedLines(res.body.stranded ?? [])) out.line(line);
        }
      } catch (error) {
        if (error instanceof ProblemAnswer && error.code === "catalog-strands-tenants") {
          const stranded = (error.problem?.stranded ?? []) as StrandedTenant[];
          error.notes.push(...strandedLines(stranded), "  apply anyway with --force");
        }
        throw error;
      }
    });

  catalog
    .command("simulate")
    .description("re-price the retained usage under a catalog file, changing nothing: cost and refusals per tenant and surface, now and with the file, and the tenants it would strand")
    .argument("<file>", "catalog JSON file")
    .option("--from <iso>", "requests at or after, e.g. 2026-11-20 or 2026-11-20T00:00:00Z (default: the retained 7 days)")
    .option("--to <iso>", "requests before (default: now)")
    .option("--tenant <id>", "only this tenant (repeatable)", (s: string, prev: string[] | undefined) => [...(prev ?? []), s])
    .action(async (file: string, opts: { from?: string; to?: string; tenant?: string[] }) => {
      const { catalog: candidate } = catalogFile(file);
      const res = await ctx.client().call<SimulationAnswer>("POST", "/catalog/simulate", {
        json: { catalog: candidate, ...(opts.from !== undefined && { from: isoOf(opts.from) }), ...(opts.to !== undefined && { to: isoOf(opts.to) }), ...(opts.tenant && { tenants: opts.tenant }) },
      });
      const out = ctx.out();
      if (out.json) return out.raw(res);
      const sim = res.body;
      out.line(`simulated ${sim.from} .. ${sim.to}`);
      if (sim.items.length === 0) out.line("no retained requests in this window");
      else {
        out.table(
          ["TENANT", "SURFACE", "COST NOW", "REFUSED NOW", "COST THEN", "REFUSED THEN", "DELTA"],
          sim.items.map((i) => [i.tenant, i.surface, i.current.cost, i.current.refusals, i.candidate.cost, i.candidate.refusals, i.delta]),
        );
      }
      out.line();
      out.fields([["total now", sim.totals.current], ["total with file", sim.totals.candidate], ["delta", sim.totals.delta]]);
      printStranded(out, sim.stranded);
      for (const note of sim.notes) out.line(`note: ${note}`);
    });

  catalog
    .command("show")
    .description("the current catalog: version, ETag, surfaces and plans (--json for the whole document)")
    .action(async () => {
      const res = await ctx.client().call<{ version: number; catalog: Catalog }>("GET", "/catalog");
      const out = ctx.out();
      if (out.json) return out.raw(res);
      const { version, catalog: current } = res.body;
      out.fields([["version", version], ["etag", res.headers.get("ETag")], ["currency", current.currency]]);
      out.line();
      out.table(
        ["SURFACE", "UNIT", "ROUTES"],
        Object.entries(current.surfaces).map(([id, s]) => [id, s.meter?.unit, s.routes.join(", ")]),
      );
      out.line();
      out.table(
        ["PLAN", "SURFACES"],
        Object.entries(current.plans).map(([id, p]) => [id, Object.entries(p.surfaces).map(([s, t]) => `${s}:${t.rule}`).join(" ")]),
      );
    });

  catalog
    .command("versions")
    .description("every stored catalog version, oldest first")
    .action(async () => {
      const res = await ctx.client().call<{ version: number; createdAt: string }[]>("GET", "/catalog/versions");
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.table(["VERSION", "CREATED"], res.body.map((v) => [v.version, v.createdAt]));
    });
};

