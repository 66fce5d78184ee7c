// `tollgate recommendations TENANT` (CONTRACT §8 Advice): what a tenant could change in how it
// integrates, with the evidence from its own usage and the exact savings.
import type { Command } from "commander";
import type { CliContext, CommandGroup } from "../context";

interface Recommendation {
  code: string;
  surface: string;
  evidence: Record<string, unknown>;
  savings: string | null;
}

export const recommendationCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  program
    .command("recommendations")
    .description("what a tenant could change in how it integrates: evidence from its own usage, exact savings")
    .argument("<tenant>", "tenant id")
    .action(async (tenant: string) => {
      const res = await ctx.client().call<Recommendation[]>("GET", `/tenants/${encodeURIComponent(tenant)}/recommendations`);
      const out = ctx.out();
      if (out.json) return out.raw(res);
      if (res.body.length === 0) return out.line(`no recommendations for ${tenant}`);
      out.table(
        ["CODE", "SURFACE", "SAVINGS", "EVIDENCE"],
        res.body.map((r) => [r.code, r.surface, r.savings ?? "unknown", Object.entries(r.evidence).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ")]),
      );
    });
};
