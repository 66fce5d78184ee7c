// Statements balance exactly (CONTRACT §7), over random grants, shares, payer switches and traffic:
// Σ charges = Σ partnerEarnings + Σ platformNet in micro-units; each payer's charges equal the
// Tollgate-Cost it was answered; each partner's earnings equal Σ round_half_even(cost × share) of
// its customer-paid calls, with the share in force when each call was made.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CatalogInput } from "../../src/catalog/schema";
import { divideHalfEven } from "../../src/pricing/rounding";
import { adminOk, call, loadCatalog, tenantWithKey } from "../support/http";

const catalog = {
  currency: "USD",
  surfaces: {
    read: { routes: ["GET /p/read"] },
    write: { routes: ["POST /p/write"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } },
  },
  plans: {
    cust: { surfaces: { read: { rule: "metered", price: { unit: "0.013" } }, write: { rule: "metered", price: { unit: "0.000777" } } }, incentives: { batch: { minUnits: 5, multiplier: 0.7 } } },
    part: { surfaces: { read: { rule: "metered", price: { unit: "0.021" } }, write: { rule: "metered", price: { unit: "0.0011" } } }, incentives: {} },
  },
} satisfies CatalogInput;

const step = fc.oneof(
  fc.record({ kind: fc.constant("call" as const), actor: fc.integer({ min: 0, max: 2 }), customer: fc.integer({ min: 0, max: 1 }), write: fc.boolean(), items: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ kind: fc.constant("switch" as const), partner: fc.integer({ min: 0, max: 1 }), customer: fc.integer({ min: 0, max: 1 }), payer: fc.constantFrom("customer", "partner"), sharePpm: fc.integer({ min: 0, max: 1_000_000 }) }),
);
const scenario = fc.record({
  grants: fc.array(fc.record({ payer: fc.constantFrom("customer", "partner"), sharePpm: fc.integer({ min: 0, max: 1_000_000 }) }), { minLength: 4, maxLength: 4 }),
  steps: fc.array(step, { minLength: 1, maxLength: 14 }),
});

const shareOf = (ppm: number) => (ppm === 1_000_000 ? "1" : `0.${String(ppm).padStart(6, "0")}`);
const micros = (money: string) => Math.round(Number(money) * 1e6);
const runs = Number(process.env.FUZZ_RUNS || 8);

describe("statements (property)", () => {
  it("balance to the micro-unit and equal what every side was answered", async () => {
    await loadCatalog(catalog, { force: true });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        run++;
        // A month of its own per run is not possible, so each run has its own tenants and reads only their statements.
        const tag = `s${run}${crypto.randomUUID().slice(0, 6)}`;
        const customers = await Promise.all([0, 1].map(async (i) => ({ id: `${tag}-c${i}`, ...(await tenantWithKey({ id: `${tag}-c${i}`, plan: "cust" })) })));
        const partners = await Promise.all([0, 1].map(async (i) => ({ id: `${tag}-p${i}`, ...(await tenantWithKey({ id: `${tag}-p${i}`, plan: "part", kind: "partner" })) })));
        const grants = new Map<string, { id: string; payer: string; sharePpm: number }>();
        for (const [i, g] of s.grants.entries()) {
          const p = partners[i >> 1]!;
          const c = customers[i & 1]!;
          const body = { partner: p.id, customer: c.id, surfaces: "*", payer: g.payer, ...(g.payer === "customer" && { share: shareOf(g.sharePpm) }) };
          const created = await adminOk<{ id: string }>("POST", "/grants", body, 201);
          grants.set(`${p.id}|${c.id}`, { id: created.id, payer: g.payer, sharePpm: g.payer === "customer" ? g.sharePpm : 0 });
        }
        const charges = new Map<string, number>();
        const earnings = new Map<string, number>();
        for (const st of s.steps) {
          if (st.kind === "switch") {
            const p = partners[st.partner]!;
            const c = customers[st.customer]!;
            const g = grants.get(`${p.id}|${c.id}`)!;
            await adminOk("PATCH", `/grants/${g.id}`, { payer: st.payer, share: st.payer === "customer" ? shareOf(st.sharePpm) : null });
            Object.assign(g, { payer: st.payer, sharePpm: st.payer === "customer" ? st.sharePpm : 0 });
            continue;
          }
          const c = customers[st.customer]!;
          const actor = st.actor === 2 ? null : partners[st.actor]!;
          const headers: Record<string, string> = actor ? { "Tollgate-On-Behalf-Of": c.id } : {};
          const res = await call(actor?.key ?? c.key, st.write ? "/p/write" : "/p/read", st.write ? { method: "POST", headers, body: JSON.stringify(Array.from({ length: st.items }, (_, i) => i)) } : { headers });
          await res.arrayBuffer();
          expect(res.status).toBe(200);
          const cost = micros(res.headers.get("Tollgate-Cost")!);
          const payer = res.headers.get("Tollgate-Payer") ?? c.id;
          charges.set(payer, (charges.get(payer) ?? 0) + cost);
          if (actor) {
            const g = grants.get(`${actor.id}|${c.id}`)!;
            expect(payer).toBe(g.payer === "partner" ? actor.id : c.id);
            if (g.payer === "customer") earnings.set(actor.id, (earnings.get(actor.id) ?? 0) + Number(divideHalfEven(BigInt(cost) * BigInt(g.sharePpm), 1_000_000n)));
          }
        }
        const period = new Date().toISOString().slice(0, 7);
        const all = await adminOk<{ items: { tenant: string; charges: string; partnerEarnings: string; platformNet: string }[] }>("GET", `/statements?period=${period}`);
        const mine = all.items.filter((i) => i.tenant.startsWith(`${tag}-`));
        let totalCharges = 0;
        let totalEarnings = 0;
        let totalNet = 0;
        for (const st of mine) {
          expect(micros(st.charges), `${st.tenant} charges`).toBe(charges.get(st.tenant) ?? 0);
          expect(micros(st.partnerEarnings), `${st.tenant} earnings`).toBe(earnings.get(st.tenant) ?? 0);
          totalCharges += micros(st.charges);
          totalEarnings += micros(st.partnerEarnings);
          totalNet += micros(st.platformNet);
        }
        expect(totalCharges).toBe(totalEarnings + totalNet);
        expect(totalCharges).toBe([...charges.values()].reduce((a, b) => a + b, 0));
      }),
      { numRuns: runs, ...(process.env.FUZZ_SEED && { seed: Number(process.env.FUZZ_SEED) }) },
    );
  }, 120_000);
});
