// Faults of the origin and of the client, each with its promised outcome (README "Failure
// behaviour"): what the client gets, what is charged, what is counted, and that no concurrency
// slot or idempotency key stays taken.
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { RollupRow } from "../../src/metering/usage-rows";
import { sendWith } from "../support/faults";
import { BASE, admin, adminOk, call, expectProblem, loadCatalog, send, tenantWithKey } from "../support/http";

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      single: { routes: ["GET /single/*"] },
      orders: { routes: ["POST /orders/*"] },
      bytes: { routes: ["GET /bytes/*"], meter: { unit: "byte", count: { from: "response-bytes" } } },
      upload: { routes: ["POST /upload/*", "PUT /upload/*"] },
      sockets: { routes: ["GET /sockets/*"], upgrades: ["websocket"] },
    },
    plans: {
      p: {
        surfaces: {
          single: { rule: "metered", price: { unit: "0.01" }, concurrency: 1 },
          orders: { rule: "metered", price: { unit: "0.02" } },
          bytes: { rule: "metered", price: { unit: "0.000001" }, concurrency: 1 },
          upload: { rule: "metered", price: { unit: "0.03" }, concurrency: 1 },
          sockets: { rule: "metered", price: { unit: "0.04" } },
        },
      },
    },
  });
});

async function usage(tenant: string): Promise<RollupRow[]> {
  return adminOk<RollupRow[]>("GET", `/usage?tenant=${tenant}&granularity=day`);
}

const sum = (rows: RollupRow[], field: "requests" | "charged" | "failed" | "rejected" | "units" | "unsettled") => rows.reduce((n, r) => n + r[field], 0);

async function inFlight(tenant: string, surface: string): Promise<number> {
  return (await adminOk<Record<string, { inFlight: number }>>("GET", `/tenants/${tenant}/limits`))[surface]!.inFlight;
}

async function received(): Promise<Record<string, number>> {
  return (await fetch(`${env.ORIGIN_URL}/_origin/received`)).json();
}

async function hits(): Promise<Record<string, number>> {
  return (await fetch(`${env.ORIGIN_URL}/_origin/hits`)).json();
}

/** Reads a body to its end; answers whether it broke off and how many bytes arrived. */
async function drain(res: Response): Promise<{ bytes: number; broken: boolean }> {
  const reader = res.body!.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes, broken: false };
      bytes += value.byteLength;
    }
  } catch {
    return { bytes, broken: true };
  }
}

describe("an origin that drops the connection mid-body", () => {
  it("on a concurrency-limited surface: the stream ends, nothing is charged, the slot is free at once, the failure is counted", async () => {
    const { key } = await tenantWithKey({ id: "drop-slot", plan: "p" });
    const res = await call(key, "/single/a?drop=100");
    expect(res.status).toBe(200); // the headers were already on their way
    expect(await drain(res)).toMatchObject({ broken: true });
    await expect.poll(() => inFlight("drop-slot", "single")).toBe(0);
    const next = await call(key, "/single/b");
    expect(next.status).toBe(200);
    await next.arrayBuffer();
    const rows = await usage("drop-slot");
    expect({ requests: sum(rows, "requests"), charged: sum(rows, "charged"), failed: sum(rows, "failed"), units: sum(rows, "units") }).toEqual({ requests: 2, charged: 1, failed: 1, units: 1 });
    expect(rows[0]!.cost).toBe("0.01"); // only the second request
  });

  it("on an Idempotency-Key POST: 502 origin-unavailable, nothing charged, the key free for the retry", async () => {
    const { key } = await tenantWithKey({ id: "drop-key", plan: "p" });
    const post = (path: string) => call(key, path, { method: "POST", body: "{}", headers: { "Idempotency-Key": "k-1" } });
    const res = await post("/orders/x?drop=100");
    const problem = await expectProblem(res, 502, "origin-unavailable");
    expect(problem.surface).toBe("orders");
    expect(res.headers.get("Tollgate-Units")).toBe("0");
    expect(res.headers.get("Tollgate-Cost")).toBe("0");
    // Same key, same request: forwarded again (not idempotency-key-in-use), and it is the first to be charged.
    const retry = await post("/orders/x?drop=100");
    await expectProblem(retry, 502, "origin-unavailable");
    const rows = await usage("drop-key");
    expect({ requests: sum(rows, "requests"), charged: sum(rows, "charged"), failed: sum(rows, "failed"), units: sum(rows, "units") }).toEqual({ requests: 2, charged: 0, failed: 2, units: 0 });
  });

  it("a small answer broken off before its end: 502 origin-unavailable with nothing sent, nothing charged", async () => {
    const { key } = await tenantWithKey({ id: "drop-small", plan: "p" });
    // Declares 50 bytes, sends 10: a small answer is read whole before it is relayed.
    const res = await call(key, "/single/a?lie=50");
    await expectProblem(res, 502, "origin-unavailable");
    expect(await inFlight("drop-small", "single")).toBe(0);
    const rows = await usage("drop-small");
    expect({ charged: sum(rows, "charged"), failed: sum(rows, "failed"), units: sum(rows, "units") }).toEqual({ charged: 0, failed: 1, units: 0 });
  });

  it("response-bytes: an origin that declares 100000 bytes and sends 10 is not billed 100000", async () => {
    const { key } = await tenantWithKey({ id: "liar", plan: "p" });
    const res = await call(key, "/bytes/a?lie=100000");
    expect(await drain(res)).toEqual({ bytes: 10, broken: true });
    await expect.poll(() => inFlight("liar", "bytes")).toBe(0);
    const rows = await usage("liar");
    expect({ charged: sum(rows, "charged"), failed: sum(rows, "failed"), units: sum(rows, "units") }).toEqual({ charged: 0, failed: 1, units: 0 });
  });
});

describe("an origin that cannot answer", () => {
  it("unreachable, too slow, or answering ≥ 500: nothing charged, each counted failed", async () => {
    const { key } = await tenantWithKey({ id: "no-answer", plan: "p" });
    const auth = { headers: { Authorization: `Bearer ${key}` } };
    await expectProblem(await sendWith({ ORIGIN_URL: "http://127.0.0.1:9" }, "/single/a", auth), 502, "origin-unavailable");
    await expectProblem(await sendWith({ ORIGIN_TIMEOUT_MS: "100" }, "/single/b?delay=400", auth), 504, "origin-timeout");
    const failed = await call(key, "/single/c?status=503");
    expect({ status: failed.status, units: failed.headers.get("Tollgate-Units"), cost: failed.headers.get("Tollgate-Cost") }).toEqual({ status: 503, units: "0", cost: "0" });
    await failed.arrayBuffer();
    const rows = await usage("no-answer");
    expect({ requests: sum(rows, "requests"), charged: sum(rows, "charged"), failed: sum(rows, "failed"), units: sum(rows, "units") }).toEqual({ requests: 3, charged: 0, failed: 3, units: 0 });
    expect(await inFlight("no-answer", "single")).toBe(0);
  });
});

describe("an origin status outside 200–599", () => {
  for (const status of [600, 999]) {
    it(`${status}: 502 origin-unavailable, the slot and the key freed, the failure counted`, async () => {
      const tenant = `status-${status}`;
      const { key } = await tenantWithKey({ id: tenant, plan: "p" });
      await expectProblem(await call(key, `/single/a?status=${status}`), 502, "origin-unavailable");
      expect(await inFlight(tenant, "single")).toBe(0);
      const keyed = () => call(key, `/orders/a?status=${status}`, { method: "POST", body: "{}", headers: { "Idempotency-Key": "k" } });
      await expectProblem(await keyed(), 502, "origin-unavailable");
      await expectProblem(await keyed(), 502, "origin-unavailable"); // not 409: the key was freed
      const rows = await usage(tenant);
      expect({ requests: sum(rows, "requests"), charged: sum(rows, "charged"), failed: sum(rows, "failed") }).toEqual({ requests: 3, charged: 0, failed: 3 });
    });
  }
});

describe("a chunked upload over MAX_BODY_BYTES to a streamed surface", () => {
  it("413 payload-too-large; the origin never receives more than the limit; nothing charged; the slot freed", async () => {
    const { key } = await tenantWithKey({ id: "big-upload", plan: "p" });
    const max = Number(env.MAX_BODY_BYTES);
    const chunk = new Uint8Array(8192);
    let sent = 0;
    // No Content-Length: a stream that would go on to four times the limit.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 4 * max) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await exports.default.fetch(new Request(`${BASE}/upload/big?delay=200`, { method: "POST", body, headers: { Authorization: `Bearer ${key}` } }));
    expect(res.headers.get("content-length")).not.toBe(String(4 * max));
    await expectProblem(res, 413, "payload-too-large");
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the origin see all it will ever see
    expect((await received())["POST /upload/big"] ?? 0).toBeLessThanOrEqual(max);
    expect(await inFlight("big-upload", "upload")).toBe(0);
    const rows = await usage("big-upload");
    expect({ requests: sum(rows, "requests"), charged: sum(rows, "charged"), rejected: sum(rows, "rejected"), units: sum(rows, "units") }).toEqual({ requests: 1, charged: 0, rejected: 1, units: 0 });
  });

  it("a chunked upload within the limit streams through whole", async () => {
    const { key } = await tenantWithKey({ id: "small-upload", plan: "p" });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(1000));
        controller.enqueue(new Uint8Array(2000));
        controller.close();
      },
    });
    const res = await exports.default.fetch(new Request(`${BASE}/upload/small`, { method: "PUT", body, headers: { Authorization: `Bearer ${key}` } }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ bodyLength: 3000 });
  });
});

describe("response-bytes are billed by the bytes streamed", () => {
  it("a client that goes away mid-body is charged the bytes that left the gateway, not the Content-Length", async () => {
    const { key } = await tenantWithKey({ id: "gone-client", plan: "p" });
    const res = await call(key, "/bytes/big?bytes=200000");
    expect(res.headers.get("Tollgate-Units")).toBe("200000"); // announced from Content-Length
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await reader.cancel();
    await expect.poll(() => inFlight("gone-client", "bytes")).toBe(0);
    const rows = await usage("gone-client");
    const units = sum(rows, "units");
    expect(units).toBeGreaterThan(0);
    expect(units).toBeLessThan(200000);
    expect(rows[0]!.cost).toBe(`0.${String(units).padStart(6, "0")}`.replace(/0+$/, ""));
    expect({ requests: sum(rows, "requests"), charged: sum(rows, "charged"), failed: sum(rows, "failed") }).toEqual({ requests: 1, charged: 1, failed: 0 });
  });

  it("elsewhere a client that goes away mid-body is charged as announced, and its slot is freed", async () => {
    const { key } = await tenantWithKey({ id: "gone-elsewhere", plan: "p" });
    const res = await call(key, "/single/big?bytes=500000");
    expect(res.headers.get("Tollgate-Units")).toBe("1");
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    await expect.poll(() => inFlight("gone-elsewhere", "single")).toBe(0);
    const rows = await usage("gone-elsewhere");
    expect({ charged: sum(rows, "charged"), failed: sum(rows, "failed"), units: sum(rows, "units") }).toEqual({ charged: 1, failed: 0, units: 1 });
  });

  it("an honest Content-Length is what is charged", async () => {
    const { key } = await tenantWithKey({ id: "honest", plan: "p" });
    const res = await call(key, "/bytes/a?bytes=5000");
    expect(res.headers.get("Tollgate-Units")).toBe("5000");
    expect((await res.arrayBuffer()).byteLength).toBe(5000);
    await expect.poll(() => inFlight("honest", "bytes")).toBe(0);
    expect(sum(await usage("honest"), "units")).toBe(5000);
  });
});

describe("what the origin sees is only what the gateway vouches for", () => {
  interface Echo {
    method: string;
    query: string;
    headers: Record<string, string>;
  }

  it("client X-Forwarded-* and Forwarded are replaced by the gateway's own", async () => {
    const { key } = await tenantWithKey({ id: "fwd", plan: "p" });
    const res = await call(key, "/orders/x", {
      method: "POST",
      body: "{}",
      headers: { "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "gopher", Forwarded: "for=6.6.6.6", "X-Real-IP": "6.6.6.6" },
    });
    const echo = await res.json<Echo>();
    expect(echo.headers["x-forwarded-host"]).toBe(new URL(BASE).host);
    expect(echo.headers["x-forwarded-proto"]).toBe("http");
    expect(JSON.stringify(echo.headers)).not.toContain("6.6.6.6");
    expect(JSON.stringify(echo.headers)).not.toContain("evil.example");
  });

  it("method overrides are stripped: they would bypass classification", async () => {
    const { key } = await tenantWithKey({ id: "override", plan: "p" });
    const res = await call(key, "/orders/x", { method: "POST", body: "{}", headers: { "X-HTTP-Method-Override": "DELETE", "X-HTTP-Method": "DELETE", "X-Method-Override": "DELETE" } });
    const echo = await res.json<Echo>();
    expect(echo.method).toBe("POST");
    expect(Object.keys(echo.headers).filter((h) => h.includes("method"))).toEqual([]);
  });

  it("an Upgrade the surface does not allow is refused and not forwarded; one it allows is passed on", async () => {
    const { key } = await tenantWithKey({ id: "upgrade", plan: "p" });
    const before = (await hits())["GET /single/ws"] ?? 0;
    const refused = await call(key, "/single/ws", { headers: { Upgrade: "websocket", Connection: "Upgrade" } });
    const problem = await expectProblem(refused, 400, "invalid-request");
    expect(problem.detail).toContain("Upgrade");
    expect((await hits())["GET /single/ws"] ?? 0).toBe(before);
    // The demo origin answers the allowed upgrade as a plain request (it speaks no websocket):
    // what matters is that the header reached it.
    const allowed = await call(key, "/sockets/ws", { headers: { Upgrade: "websocket" } });
    expect(((await allowed.json()) as Echo).headers["upgrade"]).toBe("websocket");
  });

  it("a key in the query string never authenticates, and never reaches the origin", async () => {
    const { key } = await tenantWithKey({ id: "query-key", plan: "p" });
    const alone = await send(`/orders/x?api_key=${key}`, { method: "POST", body: "{}" });
    const problem = await expectProblem(alone, 401, "unauthenticated");
    expect(problem.detail).toContain("query string");
    const res = await call(key, `/orders/x?api_key=${key}&keep=1`, { method: "POST", body: "{}" });
    const echo = await res.json<Echo>();
    expect(echo.query).toBe("?keep=1");
  });
});

describe("the quote endpoint", () => {
  it("refuses a body above the limit with 413 like every other body", async () => {
    const { key } = await tenantWithKey({ id: "big-quote", plan: "p" });
    const body = JSON.stringify({ method: "POST", path: "/orders/x", body: "x".repeat(2 * 1024 * 1024) });
    const res = await call(key, "/_tollgate/quote", { method: "POST", body, headers: { "Content-Type": "application/json" } });
    await expectProblem(res, 413, "payload-too-large");
    // A chunked one too: the limit is on the bytes, not on the header.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        controller.close();
      },
    });
    const chunked = await exports.default.fetch(new Request(`${BASE}/_tollgate/quote`, { method: "POST", body: stream, headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" } }));
    await expectProblem(chunked, 413, "payload-too-large");
  });
});

describe("admin usage reads after faults", () => {
  it("answers the failure counts in the OpenAPI row shape", async () => {
    const res = await admin("GET", "/usage?granularity=day&tenant=drop-slot");
    const rows = await res.json<RollupRow[]>();
    for (const row of rows) expect(Object.keys(row)).toEqual(expect.arrayContaining(["failed", "unsettled"]));
  });
});
