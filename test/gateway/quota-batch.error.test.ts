// A batch larger than what remains of a blocking quota (issue 10): the 429 names both numbers,
// and its Retry-After is the period's end, the first moment the batch can fit.
import { beforeAll, describe, expect, it } from "vitest";
import { secondsToPeriodEnd } from "../../src/limiter/quota-period";
import { call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

let key: string;
beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: { records: { routes: ["POST /v1/records"], meter: { unit: "record", count: { from: "json-array", pointer: "/records" } } } },
    plans: { p: { surfaces: { records: { rule: "metered", price: { unit: "0.001" }, quota: { limit: 100, period: "day", overage: "block" } } } } },
  });
  ({ key } = await tenantWithKey({ id: "batch-quota", plan: "p" }));
});

const batch = (n: number) => call(key, "/v1/records", { method: "POST", body: JSON.stringify({ records: Array.from({ length: n }, (_, i) => i) }) });

describe("quota-exhausted for a batch", () => {
  it('says "50 requested, 40 remaining", with Retry-After to the period end; a batch that fits is still admitted', async () => {
    const first = await batch(60);
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const before = Date.now();
    const res = await batch(50);
    const p = await expectProblem(res, 429, "quota-exhausted");
    expect(p.detail).toContain("50 record requested, 40 remaining of the quota of 100 record per day");
    const retryAfter = Number(res.headers.get("Retry-After"));
    expect(Math.abs(retryAfter - secondsToPeriodEnd("day", before))).toBeLessThanOrEqual(1);
    const fits = await batch(40);
    expect(fits.status).toBe(200);
    await fits.arrayBuffer();
    const empty = await batch(1);
    expect((await expectProblem(empty, 429, "quota-exhausted")).detail).toMatch(/^Quota of 100 record per day used up; it resets in \d+ s\.$/);
  });

  it("tells a batch larger than the whole quota that it never fits", async () => {
    const p = await expectProblem(await batch(150), 429, "quota-exhausted");
    expect(p.detail).toContain("150 record requested, 0 remaining");
    const { key: other } = await tenantWithKey({ id: "batch-quota-2", plan: "p" });
    const fresh = await call(other, "/v1/records", { method: "POST", body: JSON.stringify({ records: Array.from({ length: 150 }, (_, i) => i) }) });
    expect((await expectProblem(fresh, 429, "quota-exhausted")).detail).toContain("150 record requested, 100 remaining: a request larger than the whole quota of 100 record per day never fits; split it.");
  });
});
