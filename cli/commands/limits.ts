// `tollgate limits show|reset` — a tenant's live rate, quota and concurrency state (CONTRACT §5).
import { type Command, Option } from "commander";
import type { CliContext, CommandGroup } from "../context";

const enc = encodeURIComponent;

interface SurfaceLimits {
  rate?: { limit: number; remaining: number; reset: number };
  quota?: { limit: number; used: number; remaining: number; periodStart: string; periodEnd: string };
  concurrency?: { limit: number; inFlight: number };
  inFlight: number;
}

export const limitCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  const limits = program.command("limits").description("a tenant's limits now, and resets");

  limits
    .command("show")
    .description("per surface: rate tokens left, quota used, requests in flight")
    .argument("<tenant>", "tenant id")
    .action(async (tenant: string) => {
      const res = await ctx.client().call<Record<string, SurfaceLimits>>("GET", `/tenants/${enc(tenant)}/limits`);
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.table(
        ["SURFACE", "RATE LEFT", "RATE RESET (s)", "QUOTA USED", "QUOTA PERIOD END", "IN FLIGHT"],
        Object.entries(res.body).map(([s, l]) => [
          s,
          l.rate && `${l.rate.remaining}/${l.rate.limit}`,
          l.rate?.reset,
          l.quota && `${l.quota.used}/${l.quota.limit}`,
          l.quota?.periodEnd,
          l.concurrency ? `${l.inFlight}/${l.concurrency.limit}` : l.inFlight,
        ]),
      );
    });

  limits
    .command("reset")
    .description("refill the rate bucket and/or clear the current quota period's usage")
    .argument("<tenant>", "tenant id")
    .option("--surface <surface>", "only this surface (default: all)")
    .addOption(new Option("--what <what>", "what to reset").choices(["rate", "quota", "all"]).default("all"))
    .action(async (tenant: string, opts: { surface?: string; what: string }) => {
      const res = await ctx.client().call("POST", `/tenants/${enc(tenant)}/limits/reset`, {
        json: { what: opts.what, ...(opts.surface !== undefined && { surface: opts.surface }) },
      });
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.line(`reset ${opts.what} of tenant ${tenant}${opts.surface ? ` on ${opts.surface}` : ""}`);
    });
};
