// `tollgate tokens create|list|revoke` — admin tokens (CONTRACT §9); only the root token creates
// and revokes them, any token may list.
import { type Command, Option } from "commander";
import { AdminTokenCreate } from "../../src/admin/tokens";
import { issuesOf } from "../../src/catalog/schema";
import type { CliContext, CommandGroup } from "../context";
import { usageError } from "../errors";
import { issueLines } from "../problems";

interface TokenSummary { id: string; name: string; scopes: string[]; prefix: string; createdAt: string; revokedAt: string | null }

export const tokenCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  const tokens = program.command("tokens").description("admin tokens (the root ADMIN_TOKEN creates and revokes them)");

  tokens
    .command("create")
    .description("create an admin token; the token itself is shown this once")
    .argument("<name>", "its name, which the audit log shows as the actor")
    .addOption(new Option("--scopes <scopes>", "read, read,write, or report (an origin's token that can only report usage)").choices(["read", "read,write", "report"]).default("read"))
    .action(async (name: string, opts: { scopes: string }) => {
      const input = { name, scopes: opts.scopes.split(",") };
      const checked = AdminTokenCreate.safeParse(input);
      if (!checked.success) throw usageError("the token is not valid", issueLines(issuesOf(checked.error)));
      const res = await ctx.client().call<TokenSummary & { token: string }>("POST", "/tokens", { json: input });
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.fields([["id", res.body.id], ["name", res.body.name], ["scopes", res.body.scopes.join(",")], ["token", res.body.token]]);
      out.error("note: the token is shown only now; store it");
    });

  tokens
    .command("list")
    .description("every admin token, revoked ones included (never their secrets)")
    .action(async () => {
      const res = await ctx.client().call<TokenSummary[]>("GET", "/tokens");
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.table(["ID", "NAME", "SCOPES", "PREFIX", "CREATED", "REVOKED"], res.body.map((t) => [t.id, t.name, t.scopes.join(","), t.prefix, t.createdAt, t.revokedAt]));
    });

  tokens
    .command("revoke")
    .description("revoke an admin token: it is refused from the next request on")
    .argument("<id>", "token id (from tokens list)")
    .action(async (id: string) => {
      const res = await ctx.client().call("DELETE", `/tokens/${encodeURIComponent(id)}`);
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.line(`revoked admin token ${id}`);
    });
};
