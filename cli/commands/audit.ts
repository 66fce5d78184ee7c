// `tollgate audit` — admin mutations, newest first (CONTRACT §5).
import type { Command } from "commander";
import type { CliContext, CommandGroup } from "../context";
import { positiveInt } from "../flags";

interface AuditRecord { id: number; at: string; actor: string; action: string; target: string }

export const auditCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  program
    .command("audit")
    .description("admin mutations, newest first")
    .option("--from <iso>", "at or after")
    .option("--to <iso>", "before")
    .option("--action <action>", "only this action, e.g. tenant.update")
    .option("--target <target>", "only this target, e.g. tenant:acme")
    .option("--limit <n>", "at most this many (1–500)", positiveInt)
    .action(async (opts: { from?: string; to?: string; action?: string; target?: string; limit?: number }) => {
      const res = await ctx.client().call<AuditRecord[]>("GET", "/audit", { query: opts });
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.table(["ID", "AT", "ACTOR", "ACTION", "TARGET"], res.body.map((r) => [r.id, r.at, r.actor, r.action, r.target]));
    });
};
