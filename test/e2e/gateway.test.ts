// The e2e harness itself: a real gateway, in front of the demo origin, with the demo catalog.
import { expect, inject, test } from "vitest";
import { adminCall, uniqueId } from "./support/admin";

test("a real gateway serves a tenant's request end to end", async () => {
  const gw = inject("gateway");
  const id = uniqueId("e2e");
  expect((await adminCall(gw, "POST", "/tenants", { id, kind: "customer", plan: "growth" })).status).toBe(201);
  const key = await adminCall<{ key: string }>(gw, "POST", `/tenants/${id}/keys`, {});
  expect(key.status).toBe(201);
  const res = await fetch(`${gw.url}/v1/events`, { headers: { Authorization: `Bearer ${key.body.key}` } });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  expect(res.headers.get("Tollgate-Surface")).toBe("events.feed");
  expect(res.headers.get("Tollgate-Cost")).not.toBeNull();
});
