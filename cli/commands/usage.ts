// `tollgate usage` — rollup rows (CONTRACT §5) as a table, the API's JSON, or its CSV; and
// `tollgate usage report FILE.ndjson` — outcomes reported after the fact (CONTRACT §11).
import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { issuesOf } from "../../src/catalog/schema";
import { UsageQuery } from "../../src/metering/usage-query";
import type { CliContext, CommandGroup } from "../context";
import { CommandFailure, ProblemAnswer, Unreachable, usageError } from "../errors";
import { flag } from "../flags";
import { issueLines, problemLines } from "../problems";
import { BadFlag } from "../tenant-patch";
import { batchesOf, batchLines, linesOf, MAX_BATCH, parseEvents, type ReportAnswer, totalLine } from "../usage-report";

interface RollupRow {
  tenant: string;
  surface: string;
  granularity: string;
  periodStart: string;
  requests: number;
  charged: number;
  rejected: number;
  earlyRetries: number;
  units: number;
  cost: string;
  savings: string;
  /** Tollgate's refusals by problem code (absent from gateways before it was added). */
  refusals?: Record<string, number>;
  /** Who made the calls and who paid (CONTRACT §7); both equal `tenant` for its own calls. */
  actor?: string;
  payer?: string;
  partnerEarnings?: string;
}

/** Actor and payer columns only when some row is a partner's call on behalf of the tenant. */
export const delegatedRows = (rows: readonly RollupRow[]) => rows.some((r) => (r.actor ?? r.tenant) !== r.tenant || (r.payer ?? r.tenant) !== r.tenant);

const batchSize = flag((text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH) throw new BadFlag(`"${text}" is not an integer from 1 to ${MAX_BATCH}`);
  return n;
});

/** The file's text; `-` is standard input. Exit 1 when it cannot be read. */
function readEventsFile(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new CommandFailure(`cannot read ${file}${code === "ENOENT" ? ": no such file" : `: ${(error as Error).message}`}`);
  }
}

export const usageCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  const usage = program
    .command("usage")
    .description("usage rollups of every tenant, or of one")
    .option("--tenant <id>", "one tenant")
    .option("--surface <surface>", "one surface")
    .option("--actor <id>", "only calls made by this tenant (a partner's calls on behalf of customers, or a tenant's own)")
    .option("--payer <id>", "only calls paid by this tenant")
    .option("--from <iso>", "periods starting at or after, e.g. 2026-11-01 or 2026-11-01T00:00:00Z")
    .option("--to <iso>", "periods starting before")
    .addOption(new Option("--granularity <g>", "rollup period").choices(["hour", "day", "month"]).default("day"))
    .addOption(new Option("--format <format>", "table for people; json and csv as the API answers them").choices(["table", "json", "csv"]))
    .action(async (opts: { tenant?: string; surface?: string; actor?: string; payer?: string; from?: string; to?: string; granularity: string; format?: string }) => {
      const out = ctx.out();
      const format = opts.format ?? (out.json ? "json" : "table");
      const query = { tenant: opts.tenant, surface: opts.surface, actor: opts.actor, payer: opts.payer, from: opts.from, to: opts.to, granularity: opts.granularity, format: format === "csv" ? "csv" : "json" };
      // The gateway's own query schema, so a bad date is a usage error before any request.
      const checked = UsageQuery.safeParse(query);
      if (!checked.success) throw usageError("invalid usage query", issueLines(issuesOf(checked.error)));
      const res = await ctx.client().call<RollupRow[]>("GET", "/usage", { query });
      if (format !== "table") return out.raw(res);
      const refusals = (r: RollupRow) => Object.entries(r.refusals ?? {}).map(([code, n]) => `${code}:${n}`).join(" ");
      if (delegatedRows(res.body)) {
        out.table(
          ["TENANT", "ACTOR", "PAYER", "SURFACE", "PERIOD", "REQUESTS", "CHARGED", "REJECTED", "UNITS", "COST", "PARTNER EARNINGS", "SAVINGS", "REFUSALS"],
          res.body.map((r) => [r.tenant, r.actor ?? r.tenant, r.payer ?? r.tenant, r.surface, r.periodStart, r.requests, r.charged, r.rejected, r.units, r.cost, r.partnerEarnings, r.savings, refusals(r)]),
        );
        return;
      }
      out.table(
        ["TENANT", "SURFACE", "PERIOD", "REQUESTS", "CHARGED", "REJECTED", "UNITS", "COST", "SAVINGS", "REFUSALS"],
        res.body.map((r) => [r.tenant, r.surface, r.periodStart, r.requests, r.charged, r.rejected, r.units, r.cost, r.savings, refusals(r)]),
      );
    });

  usage
    .command("report")
    .description("report outcomes known after the response (one JSON event per line: id, units, requestId or tenant and surface, time); exit 1 when any event is rejected")
    .argument("<file>", "NDJSON file of events ({\"id\", \"units\", \"requestId\"?, \"tenant\"?, \"surface\"?, \"time\"?}), or - for standard input")
    .addOption(new Option("--batch <n>", `events per call (at most ${MAX_BATCH})`).argParser(batchSize).default(MAX_BATCH))
    .action(async (file: string, opts: { batch: number }) => {
      const out = ctx.out();
      // The whole file is checked before the first call: a malformed line sends nothing (exit 2).
      const events = parseEvents(readEventsFile(file), file);
      if (events.length === 0) throw usageError(`${file} holds no events`);
      const batches = batchesOf(events, opts.batch);
      const answers: ReportAnswer[] = [];
      for (const [i, batch] of batches.entries()) {
        let res;
        try {
          res = await ctx.client().call<ReportAnswer>("POST", "/usage/reports", { json: { events: batch.map((e) => e.event) } });
        } catch (error) {
          if (!(error instanceof ProblemAnswer || error instanceof Unreachable)) throw error;
          // Stop at the first failed batch: the next would most likely fail alike (a token, the
          // gateway). Every event has its own id, so sending the whole file again is safe.
          const what = error instanceof ProblemAnswer ? problemLines(error) : [`error: ${error.message}`];
          if (out.json && error instanceof ProblemAnswer && error.problem !== null) out.line(JSON.stringify({ batch: i + 1, lines: [batch[0]!.line, batch.at(-1)!.line], problem: error.problem }));
          throw new CommandFailure(
            `batch ${i + 1} of ${batches.length} (${linesOf(batch)}) failed; ${i === 0 ? "nothing was reported" : `batches 1–${i} were reported`}`,
            1,
            [...what.map((l) => `  ${l.replace(/^error: /, "")}`), "  sending the file again is safe: events already accepted answer as duplicates and count once"],
          );
        }
        answers.push(res.body);
        if (out.json) out.line(JSON.stringify({ batch: i + 1, lines: [batch[0]!.line, batch.at(-1)!.line], ...res.body }));
        else for (const line of batchLines(i + 1, batch, res.body)) out.line(line);
      }
      if (!out.json && batches.length > 1) out.line(totalLine(answers, events.length));
      const rejected = answers.reduce((n, a) => n + a.rejected.length, 0);
      if (rejected > 0) throw new CommandFailure(`${rejected} of ${events.length} event(s) rejected (listed above); the others count`);
    });
};
