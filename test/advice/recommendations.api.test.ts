// Advice (CONTRACT §8): GET /_tollgate/admin/tenants/{id}/recommendations and, with the tenant's
// own key, GET /_tollgate/recommendations — evidence from the tenant's own calls, exact savings.
import { beforeAll, describe, expect, it } from "vitest";
import { admin, adminOk, call, expectProblem, loadCatalog, send, tenantWithKey } from "../support/http";

let key: string;
let otherKey: string;

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } },
      keyed: { routes: ["POST /keyed"] },
      feed: { routes: ["GET /v1/events"] },
      rated: { routes: ["GET /rated"] },
      old: { routes: ["GET /old"], deprecatedAt: "2020-01-01T00:00:00Z", sunsetAt: "2099-01-01T00:00:00Z", link: "https://docs.example.com/old" },
    },
    plans: {
      p: {
        surfaces: {
          items: { rule: "metered", price: { unit: "0.01" } },
          keyed: { rule: "metered", price: { unit: "0.03" } },
          feed: { rule: "metered", price: { unit: "0.02" } },
          rated: { rule: "included", rate: { limit: 1, window: 3600 } },
          old: { rule: "included" },
        },
        incentives: { "idempotency-key": 0.9, batch: { minUnits: 5, multiplier: 0.5 }, conditional: 0.1 },
      },
    },
  });
  ({ key } = await tenantWithKey({ id: "adv-small", plan: "p" }));
  ({ key: otherKey } = await tenantWithKey({ id: "adv-other", plan: "p" }));
  const go = async (path: string, init: RequestInit = {}) => void (await (await call(key, path, init)).arrayBuffer());
  const post = (path: string, body: string, headers: Record<string, string> = {}) => go(path, { method: "POST", body, headers: { "Content-Type": "application/json", ...headers } });
  await post("/items", "[1]"); // 0.01: batched 0.005; keyed 0.009
  await post("/items", "[1,2]"); // 0.02: batched 0.01; keyed 0.018
  await post("/items", "[1,2,3,4,5]"); // batched already, 0.025; keyed 0.0225
  await post("/items", "[1]", { "Idempotency-Key": "k-1" }); // keyed: 0.009, batched 0.0045
  await post("/keyed", "{}"); // 0.03; keyed 0.027
  await post("/keyed", "{}", { "Idempotency-Key": "k-2" });
  await go("/v1/events");
  await go("/v1/events");
  await go("/v1/events", { headers: { "If-None-Match": '"events-3"' } }); // 304
  for (let i = 0; i < 3; i++) await go("/rated"); // admitted, refused, refused before its Retry-After: one early retry
  await go("/old");
  await go("/old");
});

type Rec = { code: string; surface: string; evidence: Record<string, unknown>; savings: string | null };

describe("recommendations", () => {
  it("answers what the tenant could change, with evidence and exact savings, largest first", async () => {
    const recs = await adminOk<Rec[]>("GET", "/tenants/adv-small/recommendations");
    expect(recs).toEqual([
      { code: "use-batching", surface: "items", evidence: { calls: 3, units: 4, minUnits: 5, multiplier: 0.5 }, savings: "0.0195" },
      { code: "use-idempotency-keys", surface: "items", evidence: { calls: 3, unsafeCalls: 4, multiplier: 0.9 }, savings: "0.0055" },
      { code: "use-idempotency-keys", surface: "keyed", evidence: { calls: 1, unsafeCalls: 2, multiplier: 0.9 }, savings: "0.003" },
      { code: "honor-retry-after", surface: "rated", evidence: { earlyRetries: 1 }, savings: "0" },
      { code: "stop-calling-deprecated", surface: "old", evidence: { calls: 2, lastCall: expect.any(String), deprecatedAt: "2020-01-01T00:00:00Z", sunsetAt: "2099-01-01T00:00:00Z", link: "https://docs.example.com/old" }, savings: "0" },
      { code: "use-conditional-requests", surface: "feed", evidence: { calls: 2, conditionalCalls: 1, notModified: 1, multiplier: 0.1 }, savings: null },
    ]);
  });

  it("the tenant reads its own with its key, and never another's", async () => {
    const own = await call(key, "/_tollgate/recommendations");
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual(await adminOk("GET", "/tenants/adv-small/recommendations"));
    const other = await call(otherKey, "/_tollgate/recommendations?tenant=adv-small");
    expect(other.status).toBe(200);
    expect(await other.json()).toEqual([]);
    expect(await adminOk("GET", "/tenants/adv-other/recommendations")).toEqual([]);
  });

  it("needs a key or the admin token; an unknown tenant is 404", async () => {
    await expectProblem(await send("/_tollgate/recommendations"), 401, "unauthenticated");
    await expectProblem(await admin("GET", "/tenants/adv-nobody/recommendations"), 404, "not-found");
  });
});
