// `tollgate grants list|show|create|update|revoke` (CONTRACT §7, §9): a partner's grants to call
// on behalf of customers. `update` is safe like `tenants update`: it reads the grant with its
// ETag, sends a JSON merge patch with If-Match, and `--dry-run` shows before/after and sends nothing.
import { type Command, Option } from "commander";
import { issuesOf } from "../../src/catalog/schema";
import type { CliContext, CommandGroup } from "../context";
import { CommandFailure, usageError } from "../errors";
import { flag } from "../flags";
import { applyGrantPatch, expiresFlag, expiresOrNoneFlag, type Grant, grantIssues, isFinal, grantPatchOf, shareFlag, shareOrNoneFlag, surfacesFlag, surfacesText } from "../grant-patch";
import { GrantCreate, GrantStatus } from "../../src/partners/schema";
import { type JsonObject, valueAt } from "../merge-patch";
import { type Output, shown } from "../output";
import { issueLines } from "../problems";

const enc = encodeURIComponent;

function printGrant(out: Output, g: Grant, etag: string | null): void {
  out.fields([
    ["id", g.id],
    ["partner", g.partner],
    ["customer", g.customer],
    ["surfaces", surfacesText(g.surfaces)],
    ["payer", g.payer],
    ["share", g.share],
    ["status", g.status],
    ["expires", g.expiresAt],
    ["requested by", g.requestedBy],
    ...(etag !== null ? ([["etag", etag]] as [string, unknown][]) : []),
    ["created", g.createdAt],
    ["updated", g.updatedAt],
  ]);
}

export const grantCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  const grants = program.command("grants").description("grants that let a partner call on behalf of a customer: list, show, create, update, revoke");

  grants
    .command("list")
    .description("grants, revoked ones included")
    .option("--partner <id>", "only this partner's grants")
    .option("--customer <id>", "only grants from this customer")
    .addOption(new Option("--status <status>", "only grants in this status").choices(GrantStatus.options))
    .action(async (opts: { partner?: string; customer?: string; status?: string }) => {
      const res = await ctx.client().call<{ items: Grant[] }>("GET", "/grants", { query: { partner: opts.partner, customer: opts.customer, status: opts.status } });
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.table(
        ["ID", "PARTNER", "CUSTOMER", "SURFACES", "PAYER", "SHARE", "STATUS", "EXPIRES"],
        res.body.items.map((g) => [g.id, g.partner, g.customer, surfacesText(g.surfaces), g.payer, g.share, g.status, g.expiresAt]),
      );
    });

  grants
    .command("show")
    .description("a grant and its ETag")
    .argument("<id>", "grant id")
    .action(async (id: string) => {
      const res = await ctx.client().call<Grant>("GET", `/grants/${enc(id)}`);
      const out = ctx.out();
      if (out.json) return out.raw(res);
      printGrant(out, res.body, res.headers.get("ETag"));
    });

  grants
    .command("create")
    .description("grant a partner calls on behalf of a customer (active at once; checked with the gateway's schema before it is sent)")
    .requiredOption("--partner <id>", "the partner tenant that will make the calls")
    .requiredOption("--customer <id>", "the customer tenant they are made for")
    .requiredOption("--surfaces <list>", "SURFACE[,SURFACE…], or '*' for every surface", flag(surfacesFlag))
    .addOption(new Option("--payer <who>", "who pays for the partner's calls").choices(["customer", "partner"]).makeOptionMandatory())
    .option("--share <fraction>", "the partner's revenue share of what the customer pays for its calls, in [0, 1] (payer customer only)", flag(shareFlag))
    .option("--expires-at <iso>", "when the grant stops covering calls, e.g. 2027-01-01T00:00:00Z", flag(expiresFlag))
    .action(async (opts: { partner: string; customer: string; surfaces: string[] | "*"; payer: string; share?: string; expiresAt?: string }) => {
      const input = {
        partner: opts.partner,
        customer: opts.customer,
        surfaces: opts.surfaces,
        payer: opts.payer,
        ...(opts.share !== undefined && { share: opts.share }),
        ...(opts.expiresAt !== undefined && { expiresAt: opts.expiresAt }),
      };
      const checked = GrantCreate.safeParse(input);
      const issues = [...(checked.success ? [] : issuesOf(checked.error)), ...grantIssues(input as JsonObject)];
      if (issues.length > 0) throw usageError("the grant is not valid", issueLines(issues));
      const res = await ctx.client().call<Grant>("POST", "/grants", { json: input });
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.line(`created grant ${res.body.id}`);
      printGrant(out, res.body, res.headers.get("ETag"));
    });

  grants
    .command("update")
    .description("change a grant safely: read it with its ETag, send a merge patch with If-Match")
    .argument("<id>", "grant id")
    .option("--surfaces <list>", "SURFACE[,SURFACE…], or '*' (replaces the list)", flag(surfacesFlag))
    .addOption(new Option("--payer <who>", "who pays for the partner's calls").choices(["customer", "partner"]))
    .option("--share <fraction>", "the partner's revenue share in [0, 1], or none", flag(shareOrNoneFlag))
    .option("--expires-at <iso>", "when the grant stops covering calls, or none", flag(expiresOrNoneFlag))
    .option("--approve", "approve a pending grant (status active)")
    .option("--dry-run", "show each field the change touches, before and after; change nothing")
    .option("--if-match <etag>", "change it only if it still has this ETag (default: the ETag just read)")
    .action(async (id: string, opts: { surfaces?: string[] | "*"; payer?: string; share?: string | null; expiresAt?: string | null; approve?: boolean; dryRun?: boolean; ifMatch?: string }) => {
      const patch = grantPatchOf(opts);
      if (Object.keys(patch).length === 0) throw usageError("nothing to change: give --surfaces, --payer, --share, --expires-at or --approve");
      const client = ctx.client();
      const read = await client.call<Grant>("GET", `/grants/${enc(id)}`);
      const etag = read.headers.get("ETag");
      if (isFinal(read.body)) throw new CommandFailure(`grant ${id} is ${read.body.status}, which is final: create a new grant instead`);
      const outcome = applyGrantPatch(read.body as unknown as JsonObject, patch);
      if (outcome.issues.length > 0) throw usageError(`the change would leave grant ${id} invalid`, issueLines(outcome.issues));
      const ifMatch = opts.ifMatch ?? etag;
      if (ifMatch === null) throw new CommandFailure(`the gateway answered grant ${id} without an ETag, so it cannot be updated safely (the gateway may be older than this CLI)`);
      const out = ctx.out();
      const printChanges = (changes: typeof outcome.changes) => out.table(["FIELD", "BEFORE", "AFTER"], changes.map((c) => [c.path, shown(c.before), shown(c.after)]));
      if (opts.dryRun) {
        if (out.json) out.value({ dryRun: true, grant: id, etag, patch, changes: outcome.changes });
        else {
          out.line(`dry run, nothing changed (grant ${id}, ETag ${etag ?? "none"})`);
          out.line(`merge patch: ${JSON.stringify(patch)}`);
          printChanges(outcome.changes);
        }
        if (opts.ifMatch !== undefined && etag !== null && opts.ifMatch !== etag) {
          throw new CommandFailure(`grant ${id} changed since ETag ${opts.ifMatch} (it is now ${etag}): the update would be refused`);
        }
        return;
      }
      // A change made since the read is a 412, printed as one line by main.ts; nothing changed.
      const res = await client.call<Grant>("PATCH", `/grants/${enc(id)}`, { json: patch, contentType: "application/merge-patch+json", headers: { "If-Match": ifMatch } });
      if (out.json) return out.raw(res);
      out.line(`updated grant ${id}${res.headers.get("ETag") ? ` (ETag ${res.headers.get("ETag")})` : ""}`);
      printChanges(outcome.changes.map((c) => ({ ...c, after: valueAt(res.body as unknown as JsonObject, c.members) })));
    });

  grants
    .command("revoke")
    .description("revoke a grant: the partner's next call for the customer is refused (grant-required); the grant stays listed")
    .argument("<id>", "grant id")
    .option("--if-match <etag>", "revoke it only if it still has this ETag")
    .action(async (id: string, opts: { ifMatch?: string }) => {
      const res = await ctx.client().call("DELETE", `/grants/${enc(id)}`, opts.ifMatch !== undefined ? { headers: { "If-Match": opts.ifMatch } } : {});
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.line(`revoked grant ${id}`);
    });
};
