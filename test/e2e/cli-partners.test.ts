// Partners through the real `tollgate` binary against a real gateway (CONTRACT §7, §9): a grant
// made by the CLI lets a partner's key call on behalf of a customer, usage and statements show it
// and balance, updates are safe (dry run, If-Match), and a revoked grant refuses the next call.
import { beforeAll, describe, expect, inject, test } from "vitest";
import { adminCall, uniqueId } from "./support/admin";
import { cliFor, lines, scratchDir } from "./support/cli";

const gw = inject("gateway");
const tollgate = cliFor(gw, scratchDir());

/** A decimal money string as integer micro-units (exact: no floats). */
function micros(decimal: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(decimal);
  if (!m) throw new Error(`not money: ${decimal}`);
  const v = BigInt(m[2]!) * 1_000_000n + BigInt((m[3] ?? "").padEnd(6, "0"));
  return m[1] ? -v : v;
}

interface Grant {
  id: string;
  partner: string;
  customer: string;
  surfaces: string[] | "*";
  payer: string;
  share: string | null;
  status: string;
  expiresAt: string | null;
}
interface Statement {
  tenant: string;
  charges: string;
  partnerEarnings: string;
  platformNet: string;
  lines: { surface: string; actor: string; payer: string; requests: number; units: number; charges: string; partnerEarnings: string }[];
}
interface Statements {
  period: string;
  items: Statement[];
  totals: { charges: string; partnerEarnings: string; platformNet: string };
}

const customer = uniqueId("cli-cust");
const partner = uniqueId("cli-partner");
let partnerKey = "";
let grantId = "";
// The month the calls below fall in; the CLI's default period must be this month (UTC).
const period = new Date().toISOString().slice(0, 7);

/** A call by the partner's key on behalf of the customer. */
async function delegated(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${gw.url}${path}`, { ...init, headers: { Authorization: `Bearer ${partnerKey}`, "Tollgate-On-Behalf-Of": customer, ...init.headers } });
  return res;
}

beforeAll(async () => {
  expect((await adminCall(gw, "POST", "/tenants", { id: customer, kind: "customer", plan: "growth" })).status).toBe(201);
  expect((await adminCall(gw, "POST", "/tenants", { id: partner, kind: "partner", plan: "partner" })).status).toBe(201);
  const key = await adminCall<{ key: string }>(gw, "POST", `/tenants/${partner}/keys`, { name: "cli-partners" });
  expect(key.status).toBe(201);
  partnerKey = key.body.key;
});

describe("grants, delegated calls, usage and statements", () => {
  test("grants create, then list and show it", async () => {
    const created = await tollgate("grants", "create", "--partner", partner, "--customer", customer, "--surfaces", "events.feed", "--payer", "customer", "--share", "0.2");
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    grantId = /^created grant (\S+)$/m.exec(created.stdout)?.[1] ?? "";
    expect(grantId).not.toBe("");
    expect(created.stdout).toMatch(/^status: +active$/m);

    const list = await tollgate("grants", "list", "--partner", partner);
    expect(list.code, list.stderr).toBe(0);
    expect(lines(list.stdout)).toEqual([
      expect.stringMatching(/^ID +PARTNER +CUSTOMER +SURFACES +PAYER +SHARE +STATUS +EXPIRES$/),
      expect.stringMatching(new RegExp(`^${grantId} +${partner} +${customer} +events\\.feed +customer +0\\.20? +active +-$`)),
    ]);
    const json = await tollgate("--json", "grants", "list", "--customer", customer, "--status", "active");
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { items: Grant[] }).items.map((g) => g.id)).toEqual([grantId]);

    const show = await tollgate("grants", "show", grantId);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^etag: +".+"$/m);
    expect(show.stdout).toMatch(new RegExp(`^partner: +${partner}$`, "m"));
  });

  test("the partner's key calls on behalf of the customer for the granted surface only", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await delegated("/v1/events?events=2");
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      expect(res.headers.get("Tollgate-Payer")).toBe(customer);
    }
    const notGranted = await delegated("/v1/records", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ records: [{ id: 1 }] }) });
    expect(notGranted.status).toBe(403);
    expect(((await notGranted.json()) as { type: string }).type).toBe("urn:tollgate:problem:grant-required");
  });

  test("usage --actor shows the partner's calls, with actor and payer columns", async () => {
    const json = await tollgate("usage", "--tenant", customer, "--actor", partner, "--format", "json");
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as { tenant: string; actor: string; payer: string; surface: string; requests: number; units: number }[];
    // The served calls, and the refused one (a refusal is usage too, counted by its code).
    expect(rows).toHaveLength(2);
    expect(rows).toEqual(expect.arrayContaining([
      expect.objectContaining({ tenant: customer, actor: partner, payer: customer, surface: "events.feed", requests: 3, units: 6 }),
      expect.objectContaining({ tenant: customer, actor: partner, surface: "records.write", rejected: 1, refusals: { "grant-required": 1 } }),
    ]));
    // Another payer filters them all out.
    const none = await tollgate("usage", "--tenant", customer, "--payer", partner, "--format", "json");
    expect(none.code, none.stderr).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual([]);

    const table = await tollgate("usage", "--tenant", customer, "--actor", partner);
    expect(table.code, table.stderr).toBe(0);
    expect(lines(table.stdout)[0]).toMatch(/^TENANT +ACTOR +PAYER +SURFACE +PERIOD +REQUESTS /);
    expect(table.stdout).toMatch(new RegExp(`^${customer} +${partner} +${customer} +events\\.feed +\\S+ +3 `, "m"));
  });

  test("statements --format json is the admin API's answer, and the books balance in micro-units", async () => {
    const [cli, api] = [await tollgate("statements", "--format", "json"), await adminCall<Statements>(gw, "GET", `/statements?period=${period}`)];
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(api.status).toBe(200);
    const answer = JSON.parse(cli.stdout) as Statements;
    expect(answer).toEqual(api.body);
    expect(answer.period).toBe(period);

    const sum = (f: "charges" | "partnerEarnings" | "platformNet") => answer.items.reduce((n, s) => n + micros(s[f]), 0n);
    expect(sum("charges")).toBe(micros(answer.totals.charges));
    expect(sum("partnerEarnings")).toBe(micros(answer.totals.partnerEarnings));
    expect(sum("platformNet")).toBe(micros(answer.totals.platformNet));
    expect(sum("charges")).toBe(sum("partnerEarnings") + sum("platformNet"));

    // 6 events at growth's 0.0001 = 600 micro-units charged to the customer; 20% of it earned by the partner.
    const ofCustomer = answer.items.find((s) => s.tenant === customer)!;
    const ofPartner = answer.items.find((s) => s.tenant === partner)!;
    expect(micros(ofCustomer.charges)).toBe(600n);
    expect(micros(ofPartner.partnerEarnings)).toBe(120n);
    expect(micros(ofCustomer.platformNet)).toBe(480n);
    expect(ofCustomer.lines).toContainEqual(expect.objectContaining({ surface: "events.feed", actor: partner, payer: customer, requests: 3, units: 6 }));
  });

  test("statements as a table per tenant with totals, --lines, and CSV", async () => {
    const api = await adminCall<Statements>(gw, "GET", `/statements?period=${period}&tenant=${customer}`);
    const s = api.body.items[0]!;
    const table = await tollgate("statements", "--period", period, "--tenant", customer, "--lines");
    expect(table.stderr).toBe("");
    expect(table.code).toBe(0);
    const out = lines(table.stdout);
    expect(out[0]).toMatch(new RegExp(`^statements for ${period}( \\([A-Z]{3}\\))?$`));
    expect(out[1]).toMatch(/^TENANT +CHARGES +PARTNER EARNINGS +PLATFORM NET$/);
    expect(out[2]).toMatch(new RegExp(`^${customer} +${s.charges} +${s.partnerEarnings} +${s.platformNet}$`));
    expect(out[3]).toMatch(new RegExp(`^TOTAL +${api.body.totals.charges} +${api.body.totals.partnerEarnings} +${api.body.totals.platformNet}$`));
    expect(table.stdout).toContain(`\n${customer}:\n`);
    expect(table.stdout).toMatch(new RegExp(`^events\\.feed +${customer} +${partner} +${customer} +3 +6 +${s.lines.find((l) => l.surface === "events.feed")!.charges} `, "m"));

    const csv = await tollgate("statements", "--period", period, "--tenant", customer, "--format", "csv");
    expect(csv.code, csv.stderr).toBe(0);
    expect(lines(csv.stdout)[0]).toMatch(/tenant/);
    expect(csv.stdout).toContain(customer);

    const bad = await tollgate("statements", "--period", "2026-13");
    expect(bad.code).toBe(2);
  });

  test("grants update --dry-run changes nothing; a stale --if-match is refused with one line", async () => {
    const before = await adminCall<Grant>(gw, "GET", `/grants/${grantId}`);
    const etag = before.headers.get("ETag");
    expect(etag).toBeTruthy();

    const dry = await tollgate("grants", "update", grantId, "--share", "0.3", "--dry-run");
    expect(dry.stderr).toBe("");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`dry run, nothing changed (grant ${grantId}`);
    expect(dry.stdout).toMatch(/^\/share +"0\.20?" +"0\.3"$/m);
    const unchanged = await adminCall<Grant>(gw, "GET", `/grants/${grantId}`);
    expect(unchanged.body.share).toBe(before.body.share);
    expect(unchanged.headers.get("ETag")).toBe(etag);

    const moved = await tollgate("grants", "update", grantId, "--expires-at", "2099-01-01");
    expect(moved.stderr).toBe("");
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain(`updated grant ${grantId}`);
    expect((await adminCall<Grant>(gw, "GET", `/grants/${grantId}`)).body.expiresAt).toMatch(/^2099-01-01T00:00:00(\.000)?Z$/);

    const stale = await tollgate("grants", "update", grantId, "--share", "0.3", "--if-match", etag!);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toBe("");
    expect(lines(stale.stderr)).toEqual([expect.stringMatching(/^error: 412 precondition-failed — \S/)]);
    expect((await adminCall<Grant>(gw, "GET", `/grants/${grantId}`)).body.share).toBe(before.body.share);

    const staleRevoke = await tollgate("grants", "revoke", grantId, "--if-match", etag!);
    expect(staleRevoke.code).toBe(1);
    expect(lines(staleRevoke.stderr)).toEqual([expect.stringMatching(/^error: 412 precondition-failed/)]);
    expect((await adminCall<Grant>(gw, "GET", `/grants/${grantId}`)).body.status).toBe("active");
  });

  test("input that cannot be a grant is a usage error (exit 2), sent nowhere", async () => {
    const base = ["grants", "create", "--partner", partner, "--customer", customer, "--surfaces", "embed.ui"];
    expect((await tollgate(...base, "--payer", "customer", "--share", "1.5")).code).toBe(2);
    expect((await tollgate(...base, "--payer", "nobody")).code).toBe(2);
    const shareWithPartnerPaying = await tollgate(...base, "--payer", "partner", "--share", "0.1");
    expect(shareWithPartnerPaying.code).toBe(2);
    expect(shareWithPartnerPaying.stderr).toMatch(/^ {2}\/share: /m);
    expect((await tollgate("grants", "update", grantId)).code).toBe(2);
    const payerOnly = await tollgate("grants", "update", grantId, "--payer", "partner");
    expect(payerOnly.code).toBe(2);
    expect(payerOnly.stderr).toMatch(/^ {2}\/share: /m);
    // None of them made a grant.
    expect((await adminCall<{ items: Grant[] }>(gw, "GET", `/grants?partner=${partner}`)).body.items.map((g) => g.id)).toEqual([grantId]);
  });

  test("a grant the partner requested is approved with grants update --approve", async () => {
    const requested = await fetch(`${gw.url}/_tollgate/grants`, {
      method: "POST",
      headers: { Authorization: `Bearer ${partnerKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ customer, surfaces: ["embed.ui"], payer: "customer" }),
    });
    expect(requested.status).toBe(201);
    const pending = (await requested.json()) as Grant;
    expect(pending.status).toBe("pending");
    const listed = await tollgate("grants", "list", "--partner", partner, "--status", "pending");
    expect(listed.stdout).toMatch(new RegExp(`^${pending.id} .* pending `, "m"));

    const approved = await tollgate("grants", "update", pending.id, "--approve");
    expect(approved.stderr).toBe("");
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(/^\/status +"pending" +"active"$/m);
    expect((await adminCall<Grant>(gw, "GET", `/grants/${pending.id}`)).body.status).toBe("active");
    await adminCall(gw, "DELETE", `/grants/${pending.id}`);
  });

  test("grants revoke: still listed as revoked, and the partner's next call gets 403 grant-required", async () => {
    const revoked = await tollgate("grants", "revoke", grantId);
    expect(revoked.stderr).toBe("");
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`revoked grant ${grantId}\n`);
    const list = await tollgate("grants", "list", "--partner", partner, "--status", "revoked");
    expect(list.stdout).toMatch(new RegExp(`^${grantId} .* revoked `, "m"));

    const res = await delegated("/v1/events?events=1");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { type: string }).type).toBe("urn:tollgate:problem:grant-required");

    const final = await tollgate("grants", "update", grantId, "--share", "0.3");
    expect(final.code).toBe(1);
    expect(lines(final.stderr)).toEqual([`error: grant ${grantId} is revoked, which is final: create a new grant instead`]);

    const again = await tollgate("grants", "show", "grt_no_such_grant");
    expect(again.code).toBe(1);
    expect(lines(again.stderr)).toEqual([expect.stringMatching(/^error: 404 /)]);
  });
});
