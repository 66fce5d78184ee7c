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
  /** Who made the calls and who paid (CONTRACT §7); both equal `tenant` for its own calls. */
  actor?: string;
  payer?: string;
  partnerEarnings?: string;
}

/** Actor and payer columns only when some row is a partner's call on behalf of the tenant. */
export const delegatedRows = (rows: readonly RollupRow[]) => rows.some((r) => (r.actor ?? r.tenant) !== r.tenant || (r.payer ?? r.tenant) !== r.tenant);

export const usageCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  program
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
};
