// `tollgate keys create|list|revoke` — a tenant's API keys (CONTRACT §5).
import type { Command } from "commander";
import type { CliContext, CommandGroup } from "../context";

const enc = encodeURIComponent;

interface KeySummary { id: string; prefix: string; name: string | null; createdAt: string; expiresAt: string | null; revokedAt: string | null }

export const keyCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  const keys = program.command("keys").description("a tenant's API keys");

  keys
    .command("create")
    .description("issue an API key; the key itself is shown this once")
    .argument("<tenant>", "tenant id")
    .option("--name <name>", "what the key is for")
    .option("--expires-at <iso>", "when it stops working, e.g. 2027-01-01T00:00:00Z")
    .action(async (tenant: string, opts: { name?: string; expiresAt?: string }) => {
      const res = await ctx.client().call<KeySummary & { key: string }>("POST", `/tenants/${enc(tenant)}/keys`, {
        json: { ...(opts.name !== undefined && { name: opts.name }), ...(opts.expiresAt !== undefined && { expiresAt: opts.expiresAt }) },
      });
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.fields([["id", res.body.id], ["key", res.body.key], ["prefix", res.body.prefix], ["name", res.body.name], ["expires", res.body.expiresAt]]);
      out.error("note: the key is shown only now; store it");
    });

  keys
    .command("list")
    .description("a tenant's keys (never their secrets)")
    .argument("<tenant>", "tenant id")
    .action(async (tenant: string) => {
      const res = await ctx.client().call<KeySummary[]>("GET", `/tenants/${enc(tenant)}/keys`);
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.table(["ID", "PREFIX", "NAME", "CREATED", "EXPIRES", "REVOKED"], res.body.map((k) => [k.id, k.prefix, k.name, k.createdAt, k.expiresAt, k.revokedAt]));
    });

  keys
    .command("revoke")
    .description("revoke a key: it is refused from the next request on")
    .argument("<tenant>", "tenant id")
    .argument("<key-id>", "key id (from keys list)")
    .action(async (tenant: string, keyId: string) => {
      const res = await ctx.client().call("DELETE", `/tenants/${enc(tenant)}/keys/${enc(keyId)}`);
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.line(`revoked key ${keyId} of tenant ${tenant}`);
    });
};
