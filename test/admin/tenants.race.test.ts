// Deletion is final whatever the interleaving (issue 8, row 1): a PATCH racing a DELETE never
// brings a tenant back to life in its limiter.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import { basicCatalog } from "../support/catalogs";
import { admin, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

beforeAll(async () => {
  await loadCatalog({ ...basicCatalog, plans: { ...basicCatalog.plans, other: basicCatalog.plans.free } });
});

const PAIRS = 25;

describe("PATCH racing DELETE", () => {
  it(`in ${PAIRS} concurrent pairs, every deleted tenant's key gets 401 and a later PATCH gets 404`, async () => {
    const tenants = await Promise.all(
      Array.from({ length: PAIRS }, async (_, i) => ({ id: `race-${i}`, ...(await tenantWithKey({ id: `race-${i}`, plan: "free" })) })),
    );
    const outcomes = await Promise.all(
      tenants.map(async ({ id }, i) => {
        // Alternate who starts first, so both orders are tried.
        const patch = () => admin("PATCH", `/tenants/${id}`, { plan: i % 2 ? "other" : "free", status: "active", addons: ["sync.pull"] });
        const del = () => admin("DELETE", `/tenants/${id}`);
        const [p, d] = i % 2 ? await Promise.all([patch(), del()]) : (await Promise.all([del(), patch()])).reverse();
        await p!.arrayBuffer();
        await d!.arrayBuffer();
        return { patch: p!.status, del: d!.status };
      }),
    );
    for (const [i, { id, key }] of tenants.entries()) {
      expect(outcomes[i]!.del).toBe(204);
      expect([200, 404]).toContain(outcomes[i]!.patch);
      const res = await call(key, "/echo/after");
      await expectProblem(res, 401, "key-revoked");
      await expectProblem(await admin("PATCH", `/tenants/${id}`, { status: "active" }), 404, "not-found");
      await expectProblem(await admin("GET", `/tenants/${id}`), 404, "not-found");
      await expectProblem(await admin("POST", `/tenants/${id}/keys`, {}), 404, "not-found");
      const limiter = (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(id);
      expect((await limiter.getTenant())?.deleted).toBe(true);
    }
  });

  it("a second DELETE of the same tenant is 404, and requests in flight during the delete do not revive it", async () => {
    const { key } = await tenantWithKey({ id: "race-twice", plan: "free" });
    const traffic = Array.from({ length: 10 }, () => call(key, "/echo/x"));
    const [first, second] = await Promise.all([admin("DELETE", "/tenants/race-twice"), admin("DELETE", "/tenants/race-twice")]);
    expect([first.status, second.status].sort()).toEqual([204, 404]);
    for (const r of await Promise.all(traffic)) await r.arrayBuffer();
    await expectProblem(await call(key, "/echo/y"), 401, "key-revoked");
  });
});
