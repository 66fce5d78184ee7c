// `tollgate usage` — rollup rows (CONTRACT §5) as a table, the API's JSON, or its CSV.
import { type Command, Option } from "commander";
import { issuesOf } from "../../src/catalog/schema";
import { UsageQuery } from "../../src/metering/usage-query";
import type { CliContext, CommandGroup } from "../context";
import { usageError } from "../errors";
import { issueLines } from "../problems";

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
}

export const usageCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  program
    .command("usage")
    .description("usage rollups of every tenant, or of one")
    .option("--tenant <id>", "one tenant")
    .option("--surface <surface>", "one surface")
    .option("--from <iso>", "periods starting at or after, e.g. 2026-11-01 or 2026-11-01T00:00:00Z")
    .option("--to <iso>", "periods starting before")
    .addOption(new Option("--granularity <g>", "rollup period").choices(["hour", "day", "month"]).default("day"))
    .addOption(new Option("--format <format>", "table for people; json and csv as the API answers them").choices(["table", "json", "csv"]))
    .action(async (opts: { tenant?: string; surface?: string; from?: string; to?: string; granularity: string; format?: string }) => {
      const out = ctx.out();
      const format = opts.format ?? (out.json ? "json" : "table");
      const query = { tenant: opts.tenant, surface: opts.surface, from: opts.from, to: opts.to, granularity: opts.granularity, format: format === "csv" ? "csv" : "json" };
      // The gateway's own query schema, so a bad date is a usage error before any request.
      const checked = UsageQuery.safeParse(query);
      if (!checked.success) throw usageError("invalid usage query", issueLines(issuesOf(checked.error)));
      const res = await ctx.client().call<RollupRow[]>("GET", "/usage", { query });
      if (format !== "table") return out.raw(res);
      out.table(
        ["TENANT", "SURFACE", "PERIOD", "REQUESTS", "CHARGED", "REJECTED", "UNITS", "COST", "SAVINGS", "REFUSALS"],
        res.body.map((r) => [r.tenant, r.surface, r.periodStart, r.requests, r.charged, r.rejected, r.units, r.cost, r.savings, Object.entries(r.refusals ?? {}).map(([code, n]) => `${code}:${n}`).join(" ")]),
      );
    });
};
