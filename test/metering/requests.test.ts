// Per-request usage rows in D1 (issue 12): one row per request, written exactly once by the
// flush, corrected by later events of the same request, equal to what the client was answered.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { adminOk, call, loadCatalog, tenantWithKey } from "../support/http";

let key: string;
beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      items: { routes: ["POST /items", "GET /items"], meter: { unit: "item", count: { from: "json-array", pointer: "" } } },
      feed: { routes: ["GET /v1/events"] },
      bytes: { routes: ["GET /v1/sync/*"], meter: { unit: "byte", count: { from: "response-bytes" } } },
    },
    plans: {
      p: {
        surfaces: {
          items: { rule: "metered", price: { unit: "0.01" }, rate: { limit: 3, window: 3600 } },
          feed: { rule: "metered", price: { unit: "0.002" } },
          bytes: { rule: "metered", price: { unit: "0.000001" } },
        },
        incentives: { "idempotency-key": 0.9, conditional: 0.1 },
      },
    },
  });
  ({ key } = await tenantWithKey({ id: "per-request", plan: "p" }));
});

type Req = { request_id: string; outcome: string; status: number; reason: string | null; units: number; cost: number; signals: number; surface: string };

describe("usage_requests", () => {
  it("holds one row per request with the outcome, money and signals it was answered with, written once", async () => {
    const answered = new Map<string, { status: number; units: number; cost: number }>();
    const note = async (res: Response) => {
      await res.arrayBuffer();
      const cost = Math.round(Number(res.headers.get("Tollgate-Cost") ?? "0") * 1e6);
      answered.set(res.headers.get("Tollgate-Request-Id")!, { status: res.status, units: Number(res.headers.get("Tollgate-Units") ?? 0), cost });
    };
    await note(await call(key, "/items", { method: "POST", body: "[1,2,3]" }));
    await note(await call(key, "/items", { method: "POST", body: "[1]", headers: { "Idempotency-Key": "abc" } }));
    await note(await call(key, "/items?status=503", { method: "POST", body: "[1,2]" }));
    await note(await call(key, "/items", { method: "POST", body: "[1]" })); // the bucket is empty: 429
    await note(await call(key, "/v1/events", { headers: { "If-None-Match": '"events-3"' } })); // 304, conditional
    await note(await call(key, "/v1/sync/x?bytes=1500"));

    await adminOk("GET", "/usage?tenant=per-request");
    await adminOk("GET", "/usage?tenant=per-request"); // a second flush adds nothing
    const { results } = await env.DB.prepare("SELECT * FROM usage_requests WHERE tenant = 'per-request' ORDER BY at").all<Req>();
    expect(results.map((r) => r.request_id).sort()).toEqual([...answered.keys()].sort());
    const byId = new Map(results.map((r) => [r.request_id, r]));
    for (const [id, a] of answered) {
      const row = byId.get(id)!;
      expect(row.cost, `${row.surface} ${row.outcome}`).toBe(a.cost);
      if (a.status < 500 && a.status !== 429) expect(row.units).toBe(a.units);
    }
    const outcomes = results.map((r) => `${r.surface} ${r.outcome} ${r.reason ?? ""} ${r.signals}`);
    expect(outcomes).toEqual([
      "items charged  1",
      "items charged  3",
      "items failed origin-failed 1",
      "items rejected rate-limited 1",
      "feed charged  4",
      "bytes charged  0",
    ]);
  });
});
