// `tollgate statements` (CONTRACT §7): per tenant, for one month, what it was charged, what it
// earned as a partner and what the platform keeps — and a check that the books balance.
import { type Command, Option } from "commander";
import type { CliContext, CommandGroup } from "../context";
import { CommandFailure } from "../errors";
import { flag } from "../flags";
import { currentPeriod, imbalances, periodFlag, type Statements } from "../statements";

export const statementCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  program
    .command("statements")
    .description("a month's statements: charges, partner earnings and platform net per tenant, with the totals")
    .option("--period <YYYY-MM>", "the month (default: the current month, UTC)", flag(periodFlag))
    .option("--tenant <id>", "one tenant's statement")
    .option("--lines", "each statement's lines too (surface, actor, payer)")
    .addOption(new Option("--format <format>", "table for people; json and csv as the API answers them").choices(["table", "json", "csv"]))
    .action(async (opts: { period?: string; tenant?: string; lines?: boolean; format?: string }) => {
      const out = ctx.out();
      const format = opts.format ?? (out.json ? "json" : "table");
      const period = opts.period ?? currentPeriod(new Date());
      const query = { period, tenant: opts.tenant, ...(format === "csv" && { format: "csv" }) };
      const res = await ctx.client().call<Statements>("GET", "/statements", { query });
      if (format === "csv") return out.raw(res);
      if (format === "json") out.raw(res);
      else {
        const { items, totals } = res.body;
        // `currency` is the catalog's, when the gateway says it.
        const currency = (res.body as { currency?: unknown }).currency;
        out.line(`statements for ${res.body.period}${typeof currency === "string" ? ` (${currency})` : ""}`);
        out.table(
          ["TENANT", "CHARGES", "PARTNER EARNINGS", "PLATFORM NET"],
          [...items.map((s) => [s.tenant, s.charges, s.partnerEarnings, s.platformNet]), ["TOTAL", totals.charges, totals.partnerEarnings, totals.platformNet]],
        );
        if (opts.lines) {
          for (const s of items) {
            out.line();
            out.line(`${s.tenant}:`);
            out.table(
              ["SURFACE", "TENANT", "ACTOR", "PAYER", "REQUESTS", "UNITS", "CHARGES", "PARTNER EARNINGS"],
              s.lines.map((l) => [l.surface, l.tenant, l.actor, l.payer, l.requests, l.units, l.charges, l.partnerEarnings]),
            );
          }
        }
      }
      // The books must balance over every tenant; one tenant's own statement need not.
      const problems = imbalances(res.body).filter((p) => opts.tenant === undefined || p.startsWith("totals."));
      if (problems.length > 0) throw new CommandFailure(`the statements for ${period} do not add up (a gateway bug)`, 1, problems.map((p) => `  ${p}`));
    });
};
