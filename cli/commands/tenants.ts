// `tollgate tenants list|show|create|update|delete` (CONTRACT §5, §9). `update` is a safe
// read-modify-write: it reads the tenant with its ETag, sends a JSON merge patch with If-Match,
// and a concurrent change is refused (412) instead of overwritten.
import { type Command, Option } from "commander";
import { issuesOf } from "../../src/catalog/schema";
import { TenantCreate } from "../../src/tenants/schema";
import type { CliContext, CommandGroup } from "../context";
import { CommandFailure, usageError } from "../errors";
import { combinePatches, type JsonObject, valueAt } from "../merge-patch";
import { type Cell, type Output, shown } from "../output";
import { issueLines } from "../problems";
import { flag, positiveInt, repeated } from "../flags";
import { applyTenantPatch, type FieldChange, mergePatchOf, overrideAssignment, overrideRemoval, patchFlag } from "../tenant-patch";

const enc = encodeURIComponent;

interface TenantAnswer {
  id: string;
  name: string | null;
  kind: string;
  plan: string;
  addons: string[];
  overrides: Record<string, unknown>;
  status: string;
  createdAt: string;
  updatedAt: string;
  surfaces?: Record<string, { rule: string; unit: string; rate?: Rate; quota?: Quota; price?: Price; concurrency?: number }>;
}
interface Rate { limit: number; window: number; burst?: number }
interface Quota { limit: number; period: string; overage?: string }
interface Price { unit: string; overage?: string }

const rateText = (r?: Rate) => (r ? `${r.limit}/${r.window}s${r.burst !== undefined ? ` burst ${r.burst}` : ""}` : undefined);
const quotaText = (q?: Quota) => (q ? `${q.limit}/${q.period}${q.overage ? ` ${q.overage}` : ""}` : undefined);
const priceText = (p: Price | undefined, unit: string) => (p ? `${p.unit}/${unit}${p.overage ? ` (overage ${p.overage})` : ""}` : undefined);

function printTenant(out: Output, t: TenantAnswer, etag: string | null): void {
  out.fields([
    ["id", t.id],
    ["name", t.name],
    ["kind", t.kind],
    ["plan", t.plan],
    ["status", t.status],
    ["addons", t.addons.join(", ")],
    ["overrides", Object.keys(t.overrides).length > 0 ? t.overrides : null],
    ...(etag !== null ? ([["etag", etag]] as [string, unknown][]) : []),
    ["created", t.createdAt],
    ["updated", t.updatedAt],
  ]);
  if (!t.surfaces) return;
  out.line();
  out.table(
    ["SURFACE", "RULE", "RATE", "QUOTA", "PRICE", "CONCURRENCY"],
    Object.entries(t.surfaces).map(([s, e]): Cell[] => [s, e.rule, rateText(e.rate), quotaText(e.quota), priceText(e.price, e.unit), e.concurrency]),
  );
}

function printChanges(out: Output, changes: readonly FieldChange[]): void {
  out.table(
    ["FIELD", "BEFORE", "AFTER"],
    changes.map((c) => [c.path, shown(c.before), shown(c.after)]),
  );
}

export const tenantCommands: CommandGroup = (program: Command, ctx: CliContext) => {
  const tenants = program.command("tenants").description("list, show, create, update and delete tenants");

  tenants
    .command("list")
    .description("tenants ordered by id, a page at a time")
    .option("--search <text>", "only tenants whose id or name contains the text")
    .option("--limit <n>", "tenants per page (1–100)", positiveInt)
    .option("--cursor <cursor>", "the page after this cursor (printed below a full page)")
    .action(async (opts: { search?: string; limit?: number; cursor?: string }) => {
      const res = await ctx.client().call<{ items: TenantAnswer[]; cursor?: string }>("GET", "/tenants", {
        query: { q: opts.search, limit: opts.limit, cursor: opts.cursor },
      });
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.table(
        ["ID", "NAME", "KIND", "PLAN", "STATUS", "ADDONS"],
        res.body.items.map((t) => [t.id, t.name, t.kind, t.plan, t.status, t.addons.join(",")]),
      );
      if (res.body.cursor) out.error(`more: --cursor ${res.body.cursor}`);
    });

  tenants
    .command("show")
    .description("a tenant, its ETag and its effective limits per surface")
    .argument("<id>", "tenant id")
    .action(async (id: string) => {
      const res = await ctx.client().call<TenantAnswer>("GET", `/tenants/${enc(id)}`);
      const out = ctx.out();
      if (out.json) return out.raw(res);
      printTenant(out, res.body, res.headers.get("ETag"));
    });

  tenants
    .command("create")
    .description("create a tenant (checked with the gateway's own schema before it is sent)")
    .requiredOption("--id <id>", "tenant id: 1–64 of A-Z a-z 0-9 . _ -")
    .requiredOption("--plan <plan>", "a plan of the current catalog")
    .addOption(new Option("--kind <kind>", "who the tenant is").choices(["customer", "partner"]).makeOptionMandatory())
    .option("--name <name>", "display name")
    .option("--addon <surface>", "a premium surface it may call (repeatable)", (s: string, prev: string[] | undefined) => [...(prev ?? []), s])
    .addOption(new Option("--status <status>").choices(["active", "suspended"]))
    .option("--set-override <SURFACE.FIELD=JSON>", "a per-surface override, e.g. records.write.quota='{\"limit\":9000,\"period\":\"day\"}' (repeatable)", repeated(overrideAssignment))
    .action(async (opts: { id: string; plan: string; kind: string; name?: string; addon?: string[]; status?: string; setOverride?: JsonObject[] }) => {
      const overrides = (opts.setOverride ?? []).reduce<JsonObject>((all, p) => combinePatches(all, p) as JsonObject, {}).overrides;
      const input = {
        id: opts.id,
        kind: opts.kind,
        plan: opts.plan,
        ...(opts.name !== undefined && { name: opts.name }),
        ...(opts.addon && { addons: opts.addon }),
        ...(opts.status !== undefined && { status: opts.status }),
        ...(overrides !== undefined && { overrides }),
      };
      const checked = TenantCreate.safeParse(input);
      if (!checked.success) throw usageError("the tenant is not valid", issueLines(issuesOf(checked.error)));
      const res = await ctx.client().call<TenantAnswer>("POST", "/tenants", { json: input });
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.line(`created tenant ${res.body.id}`);
      printTenant(out, res.body, res.headers.get("ETag"));
    });

  tenants
    .command("update")
    .description("change a tenant safely: read it with its ETag, send a merge patch with If-Match")
    .argument("<id>", "tenant id")
    .option("--plan <plan>", "move to this plan")
    .addOption(new Option("--status <status>").choices(["active", "suspended"]))
    .option("--name <name>", "display name")
    .option("--set-override <SURFACE.FIELD=JSON>", "set one field of one surface's override, keeping the others (repeatable)", repeated(overrideAssignment))
    .option("--remove-override <SURFACE[.FIELD]>", "remove a surface's overrides, or one field of them (repeatable)", repeated(overrideRemoval))
    .option("--patch <json>", "a JSON merge patch (RFC 7396) of the tenant; the flags above apply over it", flag(patchFlag))
    .option("--dry-run", "show each field the change touches, before and after; change nothing")
    .option("--if-match <etag>", "change it only if it still has this ETag (default: the ETag just read)")
    .action(async (id: string, opts: { plan?: string; status?: string; name?: string; setOverride?: JsonObject[]; removeOverride?: JsonObject[]; patch?: JsonObject; dryRun?: boolean; ifMatch?: string }) => {
      const patch = mergePatchOf(opts);
      if (Object.keys(patch).length === 0) throw usageError("nothing to change: give --plan, --status, --name, --set-override, --remove-override or --patch");
      const client = ctx.client();
      const read = await client.call<TenantAnswer>("GET", `/tenants/${enc(id)}`);
      const etag = read.headers.get("ETag");
      const outcome = applyTenantPatch(read.body as unknown as JsonObject, patch);
      if (outcome.issues.length > 0) throw usageError(`the change would leave tenant ${id} invalid`, issueLines(outcome.issues));
      const ifMatch = opts.ifMatch ?? etag;
      if (ifMatch === null) throw new CommandFailure(`the gateway answered tenant ${id} without an ETag, so it cannot be updated safely (the gateway may be older than this CLI)`);
      const out = ctx.out();
      if (opts.dryRun) {
        if (out.json) out.value({ dryRun: true, tenant: id, etag, patch, changes: outcome.changes });
        else {
          out.line(`dry run, nothing changed (tenant ${id}, ETag ${etag ?? "none"})`);
          out.line(`merge patch: ${JSON.stringify(patch)}`);
          printChanges(out, outcome.changes);
        }
        if (opts.ifMatch !== undefined && etag !== null && opts.ifMatch !== etag) {
          throw new CommandFailure(`tenant ${id} changed since ETag ${opts.ifMatch} (it is now ${etag}): the update would be refused`);
        }
        return;
      }
      // A concurrent change since the read is a 412, printed as one line by main.ts; nothing changed.
      const res = await client.call<TenantAnswer>("PATCH", `/tenants/${enc(id)}`, { json: patch, contentType: "application/merge-patch+json", headers: { "If-Match": ifMatch } });
      if (out.json) return out.raw(res);
      out.line(`updated tenant ${id}${res.headers.get("ETag") ? ` (ETag ${res.headers.get("ETag")})` : ""}`);
      printChanges(
        out,
        outcome.changes.map((c) => ({ ...c, after: valueAt(res.body as unknown as JsonObject, c.members) })),
      );
    });

  tenants
    .command("delete")
    .description("delete a tenant: its keys stop working, its usage stays")
    .argument("<id>", "tenant id")
    .option("--if-match <etag>", "delete it only if it still has this ETag")
    .action(async (id: string, opts: { ifMatch?: string }) => {
      const res = await ctx.client().call("DELETE", `/tenants/${enc(id)}`, opts.ifMatch !== undefined ? { headers: { "If-Match": opts.ifMatch } } : {});
      const out = ctx.out();
      if (out.json) return out.raw(res);
      out.line(`deleted tenant ${id}`);
    });
};
