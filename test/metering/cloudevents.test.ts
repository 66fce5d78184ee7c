// CloudEvents export (CONTRACT §10): one structured CloudEvent 1.0 per charged request, its id the
// request id the client was answered, so re-reads deduplicate; refusals and failures are absent.
// Each event is checked here against the spec's own rules, independently of the SDK that built it.
import { beforeAll, describe, expect, it } from "vitest";
import { admin, call, expectProblem, loadCatalog, tenantWithKey } from "../support/http";

beforeAll(async () => {
  await loadCatalog({
    currency: "USD",
    surfaces: {
      items: { routes: ["POST /items"], meter: { unit: "item", count: { from: "json-array", pointer: "/items" } } },
      free: { routes: ["GET /free"] },
      closed: { routes: ["GET /closed"] },
      jobs: { routes: ["POST /jobs"], meter: { unit: "row", count: { from: "reported" } } },
    },
    plans: {
      p: {
        surfaces: {
          items: { rule: "metered", price: { unit: "0.333333" } },
          free: { rule: "included" },
          closed: { rule: "prohibited" },
          jobs: { rule: "metered", price: { unit: "0.25" } },
        },
        incentives: { "idempotency-key": 0.9 },
      },
    },
  });
});

interface Event {
  specversion: string;
  type: string;
  source: string;
  id: string;
  subject: string;
  time: string;
  datacontenttype: string;
  data: { surface: string; units: number; cost: string; incentives?: string[]; actor: string; payer: string; requestId?: string };
  [attribute: string]: unknown;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const CONTEXT = new Set(["specversion", "type", "source", "id", "subject", "time", "datacontenttype", "dataschema", "data", "data_base64"]);

/** The CloudEvents 1.0 rules a collector relies on (spec §3.1, §3.1.1 naming, JSON format §3). */
function expectValidCloudEvent(e: Event): void {
  for (const name of ["id", "source", "specversion", "type"] as const) {
    expect(typeof e[name], name).toBe("string");
    expect((e[name] as string).length, name).toBeGreaterThan(0);
  }
  expect(e.specversion).toBe("1.0");
  expect(e.time).toMatch(RFC3339);
  expect(Number.isNaN(Date.parse(e.time))).toBe(false);
  expect(() => new URL(e.source, "https://base.invalid/")).not.toThrow(); // a URI-reference
  for (const name of Object.keys(e)) {
    expect(name, "attribute names are lowercase a-z 0-9").toMatch(/^[a-z0-9]+$|^data_base64$/);
    if (!CONTEXT.has(name)) expect(name.length, `extension ${name}`).toBeLessThanOrEqual(20);
  }
}

async function events(query: string): Promise<{ res: Response; list: Event[] }> {
  const res = await admin("GET", `/usage/events?format=cloudevents&${query}`);
  const body = await res.text();
  expect(res.status, body).toBe(200);
  expect(res.headers.get("Content-Type")).toBe("application/cloudevents-batch+json");
  return { res, list: JSON.parse(body) as Event[] };
}

async function answered(res: Response) {
  await res.arrayBuffer();
  return { status: res.status, id: res.headers.get("Tollgate-Request-Id")!, cost: res.headers.get("Tollgate-Cost"), units: res.headers.get("Tollgate-Units") };
}

describe("CloudEvents export", () => {
  it("has one event per charged request, its id the Tollgate-Request-Id answered; refused and failed requests are absent", async () => {
    const { key } = await tenantWithKey({ id: "ce-a", plan: "p" });
    const post = (n: number, init: { headers?: Record<string, string>; query?: string } = {}) =>
      call(key, `/items${init.query ?? ""}`, { method: "POST", body: JSON.stringify({ items: Array.from({ length: n }, (_, i) => i) }), headers: init.headers ?? {} });
    const charged = [
      await answered(await post(3)),
      await answered(await post(2, { headers: { "Idempotency-Key": "ce-k1" } })),
      await answered(await call(key, "/free")), // 1 unit, costs nothing: still charged
    ];
    const replay = await answered(await post(2, { headers: { "Idempotency-Key": "ce-k1" } }));
    const refused = await answered(await call(key, "/closed"));
    const failed = await answered(await post(4, { query: "?status=500" }));
    expect(charged.map((r) => r.status)).toEqual([200, 200, 200]);
    expect([replay.status, refused.status, failed.status]).toEqual([200, 403, 500]);

    const { list } = await events("tenant=ce-a");
    expect(list.map((e) => e.id)).toEqual(charged.map((r) => r.id));
    for (const absent of [replay, refused, failed]) expect(list.map((e) => e.id)).not.toContain(absent.id);
    for (const e of list) expectValidCloudEvent(e);
    expect(list[0]).toEqual({
      specversion: "1.0",
      type: "tollgate.request",
      source: "/tollgate",
      id: charged[0]!.id,
      subject: "ce-a",
      time: expect.stringMatching(RFC3339),
      datacontenttype: "application/json",
      data: { surface: "items", units: 3, cost: "0.999999", incentives: [], actor: "ce-a", payer: "ce-a" },
    });
    expect(list.map((e) => [e.data.surface, e.data.units, e.data.cost, e.data.incentives])).toEqual([
      ["items", 3, charged[0]!.cost, []],
      ["items", 2, charged[1]!.cost, ["idempotency-key"]],
      ["free", 1, "0", []],
    ]);

    // Re-reading gives the same events, ids and all.
    expect((await events("tenant=ce-a")).list).toEqual(list);
  });

  it("pages with a cursor in Link, and filters by time", async () => {
    const { key } = await tenantWithKey({ id: "ce-b", plan: "p" });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await answered(await call(key, "/items", { method: "POST", body: JSON.stringify({ items: [i] }) }))).id);
    const first = await events("tenant=ce-b&limit=2");
    const seen = first.list.map((e) => e.id);
    let link = first.res.headers.get("Link");
    while (link !== null) {
      const next = /^<\/_tollgate\/admin(\/usage\/events\?[^>]+)>; rel="next"$/.exec(link);
      expect(next, link).not.toBeNull();
      const res = await admin("GET", next![1]!);
      seen.push(...(JSON.parse(await res.text()) as Event[]).map((e) => e.id));
      link = res.headers.get("Link");
    }
    expect(seen).toEqual(ids);

    const { list: all } = await events("tenant=ce-b");
    const third = Date.parse(all[2]!.time);
    const { list: later } = await events(`tenant=ce-b&from=${new Date(third).toISOString()}`);
    expect(later.map((e) => e.id)).toEqual(all.filter((e) => Date.parse(e.time) >= third).map((e) => e.id));
    expect((await events("tenant=ce-b&from=2020-01-01&to=2020-01-02")).list).toEqual([]);
  });

  it("carries each accepted report as tollgate.usage.reported, id report:<id>, at its time, with the request it named", async () => {
    const { key } = await tenantWithKey({ id: "ce-r", plan: "p" });
    const job = await answered(await call(key, "/jobs", { method: "POST" }));
    expect([job.status, job.units]).toEqual([200, "0"]);
    const earlier = new Date(Date.now() - 3_600_000).toISOString();
    const reports = [
      { id: "job-7", units: 4, requestId: job.id },
      { id: "sweep-1", units: 2, tenant: "ce-r", surface: "jobs", time: earlier },
    ];
    const report = async () => {
      const res = await admin("POST", "/usage/reports", { events: reports });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      return JSON.parse(text) as { accepted: number; duplicates: string[] };
    };
    expect(await report()).toMatchObject({ accepted: 2, duplicates: [] });
    expect(await report()).toMatchObject({ accepted: 0, duplicates: ["job-7", "sweep-1"] }); // a repeat is no new event

    const { list } = await events("tenant=ce-r");
    for (const e of list) expectValidCloudEvent(e);
    expect(list.map((e) => [e.type, e.id])).toEqual([
      ["tollgate.usage.reported", "report:sweep-1"],
      ["tollgate.usage.reported", "report:job-7"], // at the request's time (now): after the earlier report
    ]);
    const [sweep, named] = list;
    expect(sweep).toEqual({
      specversion: "1.0",
      type: "tollgate.usage.reported",
      source: "/tollgate",
      id: "report:sweep-1",
      subject: "ce-r",
      time: new Date(earlier).toISOString(),
      datacontenttype: "application/json",
      data: { surface: "jobs", units: 2, cost: "0.5", actor: "ce-r", payer: "ce-r" },
    });
    expect(named!.data).toEqual({ surface: "jobs", units: 4, cost: "1", actor: "ce-r", payer: "ce-r", requestId: job.id });
    expect(Date.parse(named!.time)).toBeGreaterThan(Date.parse(earlier));
  });

  it("refuses other formats, bad ranges and cursors it never gave out", async () => {
    await expectProblem(await admin("GET", "/usage/events"), 400, "invalid-request");
    await expectProblem(await admin("GET", "/usage/events?format=json"), 400, "invalid-request");
    await expectProblem(await admin("GET", "/usage/events?format=cloudevents&from=2026-02-02&to=2026-02-01"), 400, "invalid-request");
    await expectProblem(await admin("GET", "/usage/events?format=cloudevents&cursor=bm90LWEtY3Vyc29y"), 400, "invalid-request");
    await expectProblem(await admin("GET", "/usage/events?format=cloudevents&limit=0"), 400, "invalid-request");
  });
});
