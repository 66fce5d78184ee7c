// Shadow rules (issue 12): a shadow surface forwards everything, says which limits would have
// refused (Tollgate-Shadow), charges as if admitted, and counts exactly the refusals a strict one makes.
import { describe, expect, it } from "vitest";
import type { CatalogInput } from "../../src/catalog/schema";
import { adminOk, call, loadCatalog, tenantWithKey } from "../support/http";

const terms = {
  rl: { rule: "metered", price: { unit: "0.01" }, rate: { limit: 3, window: 3600 } },
  q: { rule: "metered", price: { unit: "0.001" }, quota: { limit: 10, period: "day", overage: "block" } },
  conc: { rule: "metered", price: { unit: "0.1" }, concurrency: 1 },
  both: { rule: "metered", price: { unit: "0.01" }, rate: { limit: 1, window: 3600 }, quota: { limit: 1, period: "day", overage: "block" } },
} as const;
const shadowed = Object.fromEntries(Object.entries(terms).map(([s, t]) => [s, { ...t, enforce: "shadow" }]));

const catalog = {
  currency: "USD",
  surfaces: {
    rl: { routes: ["GET /rl"] },
    q: { routes: ["POST /q"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } },
    conc: { routes: ["GET /conc"] },
    both: { routes: ["GET /both"] },
  },
  plans: { strict: { surfaces: terms }, shadow: { surfaces: shadowed } },
} as CatalogInput;

type Row = { surface: string; requests: number; charged: number; rejected: number; shadowRefusals: number; units: number; cost: string; refusals: Record<string, number> };

async function traffic(key: string) {
  const answers: { status: number; shadow: string | null; cost: string | null }[] = [];
  const note = async (res: Response) => {
    await res.arrayBuffer();
    answers.push({ status: res.status, shadow: res.headers.get("Tollgate-Shadow"), cost: res.headers.get("Tollgate-Cost") });
  };
  for (let i = 0; i < 5; i++) await note(await call(key, "/rl"));
  for (const n of [4, 5, 3, 1, 2]) await note(await call(key, "/q", { method: "POST", body: JSON.stringify(Array.from({ length: n }, (_, i) => i)) }));
  for (const res of await Promise.all([0, 1, 2].map(() => call(key, "/conc?delay=150")))) await note(res);
  for (let i = 0; i < 3; i++) await note(await call(key, "/both"));
  return answers;
}

describe("shadow rules", () => {
  it("forward everything, name every limit that would refuse, and count exactly the refusals the strict rule makes", async () => {
    await loadCatalog(catalog);
    const strict = await tenantWithKey({ id: "sh-strict", plan: "strict" });
    const shadow = await tenantWithKey({ id: "sh-shadow", plan: "shadow" });
    const strictAnswers = await traffic(strict.key);
    const shadowAnswers = await traffic(shadow.key);

    expect(shadowAnswers.every((a) => a.status === 200)).toBe(true);
    // Each answer the strict rule refused is one the shadow rule forwarded with Tollgate-Shadow.
    expect(shadowAnswers.map((a) => a.shadow !== null)).toEqual(strictAnswers.map((a) => a.status === 429));
    expect(shadowAnswers.slice(-3).map((a) => a.shadow)).toEqual([null, "rate-limited, quota-exhausted", "rate-limited, quota-exhausted"]);

    const rows = async (tenant: string) => adminOk<Row[]>("GET", `/usage?tenant=${tenant}&granularity=day`);
    const strictRows = await rows("sh-strict");
    const shadowRows = await rows("sh-shadow");
    for (const surface of Object.keys(terms)) {
      const s = strictRows.find((r) => r.surface === surface)!;
      const h = shadowRows.find((r) => r.surface === surface)!;
      expect(h.shadowRefusals, surface).toBe(s.rejected);
      expect(h.rejected, surface).toBe(0);
      expect(h.charged, surface).toBe(h.requests);
      expect(s.shadowRefusals, surface).toBe(0);
    }
    // Charged as if admitted: every shadow answer's cost is in the rollups.
    const answered = shadowAnswers.reduce((n, a) => n + Math.round(Number(a.cost) * 1e6), 0);
    expect(shadowRows.reduce((n, r) => n + Math.round(Number(r.cost) * 1e6), 0)).toBe(answered);
    // The limits' state is what the strict rule's is: the quota counts only what it admitted.
    const limits = async (tenant: string) => adminOk<Record<string, { quota?: { used: number }; rate?: { remaining: number } }>>("GET", `/tenants/${tenant}/limits`);
    const [sl, hl] = [await limits("sh-strict"), await limits("sh-shadow")];
    expect(hl.q?.quota?.used).toBe(sl.q?.quota?.used);
    expect(hl.rl?.rate?.remaining).toBe(sl.rl?.rate?.remaining);
  });

  it("quotes what the request would get: allowed under the shadow rule, naming the limits; refused under the strict one", async () => {
    await loadCatalog(catalog);
    const strict = await tenantWithKey({ id: "shq-strict", plan: "strict" });
    const shadow = await tenantWithKey({ id: "shq-shadow", plan: "shadow" });
    const quote = async (key: string) => {
      const res = await call(key, "/_tollgate/quote", { method: "POST", body: JSON.stringify({ method: "GET", path: "/both" }), headers: { "Content-Type": "application/json" } });
      expect(res.status).toBe(200);
      return (await res.json()) as { allowed: boolean; cost: string; shadow?: string[]; problem?: { type: string } };
    };
    for (const key of [strict.key, shadow.key]) await (await call(key, "/both")).arrayBuffer(); // the one request both limits allow
    const strictQuote = await quote(strict.key);
    expect(strictQuote.allowed).toBe(false);
    expect(strictQuote.problem?.type).toBe("urn:tollgate:problem:rate-limited");
    const shadowQuote = await quote(shadow.key);
    expect(shadowQuote).toMatchObject({ allowed: true, shadow: ["rate-limited", "quota-exhausted"] });
    const res = await call(shadow.key, "/both");
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get("Tollgate-Shadow")).toBe(shadowQuote.shadow!.join(", "));
    expect(res.headers.get("Tollgate-Cost")).toBe(shadowQuote.cost);
  });

  it("refuses a shadow rule on a leased surface in the catalog", async () => {
    const res = await adminOk<{ stranded: unknown[] }>("PUT", "/catalog?dryRun=true", catalog);
    expect(res.stranded).toEqual([]);
    const bad = structuredClone(catalog) as { plans: Record<string, { surfaces: Record<string, Record<string, unknown>> }> };
    bad.plans.shadow!.surfaces.rl!.admission = "leased";
    const { admin } = await import("../support/http");
    const answer = await admin("PUT", "/catalog?dryRun=true", bad);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(await answer.json())).toContain("/plans/shadow/surfaces/rl/enforce");
  });
});
