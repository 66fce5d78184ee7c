// Shared by the dashboard and the portal (served as /_tollgate/ui/common.js, after uPlot).
// Every value from the API reaches the page through text nodes and attributes set by `h` below,
// never through innerHTML: tenant names and problem details are user input.
"use strict";

/** An element: h("td", { class: "num", dataset: { field: "units" } }, "12"). Strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's content. */
function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A problem answer (RFC 9457) or a failed fetch, with the words the user should see. */
class ApiProblem extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.code = typeof body?.type === "string" ? body.type.replace(/^urn:tollgate:problem:/, "") : null;
  }
}

/**
 * The secret a page needs (the admin token or a tenant's API key), asked for once per browser
 * session and kept in sessionStorage; a 401 forgets it and asks again, showing why.
 */
class Session {
  constructor({ storageKey, label, placeholder, onReady }) {
    Object.assign(this, { storageKey, label, placeholder, onReady });
  }
  get secret() {
    return sessionStorage.getItem(this.storageKey);
  }
  start() {
    if (this.secret) this.onReady();
    else this.ask(null);
  }
  /** Shows the form (with the problem that sent the user back to it, if any). */
  ask(problemDetail) {
    sessionStorage.removeItem(this.storageKey);
    fill(document.getElementById("session"));
    const input = h("input", { type: "password", name: "secret", id: "secret", required: true, autocomplete: "off", placeholder: this.placeholder });
    const form = h(
      "form",
      { id: "login", class: "login" },
      h("label", { for: "secret" }, this.label),
      " ",
      input,
      " ",
      h("button", { type: "submit" }, "Continue"),
      problemDetail ? h("p", { class: "problem", role: "alert" }, problemDetail) : null,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(this.storageKey, input.value.trim());
      this.onReady();
    });
    fill(document.getElementById("app"), form);
    input.focus();
  }
  /** The "signed in" line with a way to forget the secret. */
  showSignedIn(text) {
    fill(
      document.getElementById("session"),
      h("span", {}, text, " "),
      h("button", { type: "button", class: "link", onclick: () => this.ask(null) }, "Sign out"),
    );
  }
  /** fetch with `Authorization: Bearer <secret>`; JSON in and out; problems thrown as ApiProblem. */
  async call(method, path, body, headers) {
    return (await this.request(method, path, body, headers)).body;
  }
  /** As `call`, with the answer's headers too (an ETag to send back as If-Match). */
  async request(method, path, body, extraHeaders) {
    const headers = { Authorization: `Bearer ${this.secret ?? ""}`, Accept: "application/json", ...extraHeaders };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { detail: text.slice(0, 200) };
    }
    if (!res.ok) {
      const p = new ApiProblem(res.status, parsed);
      if (res.status === 401) this.ask(p.message);
      throw p;
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }
}

// ── money: decimal strings in, exact sums in integer micro-units (as the API stores them) ──

const MICROS = 1_000_000n;

function toMicros(decimal) {
  const s = String(decimal ?? "0").trim();
  const negative = s.startsWith("-");
  const [whole, fraction = ""] = s.replace(/^[-+]/, "").split(".");
  const micros = BigInt(whole || "0") * MICROS + BigInt((fraction + "000000").slice(0, 6));
  return negative ? -micros : micros;
}

function formatMicros(micros) {
  const abs = micros < 0n ? -micros : micros;
  const fraction = String(abs % MICROS).padStart(6, "0").replace(/0+$/, "");
  return `${micros < 0n ? "-" : ""}${abs / MICROS}${fraction ? `.${fraction}` : ""}`;
}

// ── rollup rows (CONTRACT §5) ──

const COUNT_FIELDS = ["requests", "charged", "rejected", "earlyRetries", "units"];
const MONEY_FIELDS = ["cost", "savings"];

function emptyTotals() {
  return { requests: 0, charged: 0, rejected: 0, earlyRetries: 0, units: 0, cost: 0n, savings: 0n, incentives: {}, refusals: {}, hasRefusals: false };
}

function addRow(totals, row) {
  for (const f of COUNT_FIELDS) totals[f] += row[f] ?? 0;
  for (const f of MONEY_FIELDS) totals[f] += toMicros(row[f]);
  for (const [name, n] of Object.entries(row.incentives ?? {})) totals.incentives[name] = (totals.incentives[name] ?? 0) + n;
  if (row.refusals) {
    totals.hasRefusals = true;
    for (const [code, n] of Object.entries(row.refusals)) totals.refusals[code] = (totals.refusals[code] ?? 0) + n;
  }
  return totals;
}

/** Totals per surface (sorted) and over all of them. */
function totalsOf(rows) {
  const bySurface = new Map();
  const all = emptyTotals();
  for (const row of rows) {
    if (!bySurface.has(row.surface)) bySurface.set(row.surface, emptyTotals());
    addRow(bySurface.get(row.surface), row);
    addRow(all, row);
  }
  return { bySurface: new Map([...bySurface].sort(([a], [b]) => a.localeCompare(b))), all };
}

const shownValue = (totals, field) => (MONEY_FIELDS.includes(field) ? formatMicros(totals[field]) : String(totals[field]));

/** Per-surface totals as a table; every number cell says its field (data-field) and row (data-surface). */
function totalsTable(rows, caption) {
  const { bySurface, all } = totalsOf(rows);
  const fields = ["requests", "charged", "rejected", "earlyRetries", "units", "cost", "savings"];
  const heads = { requests: "Requests", charged: "Charged", rejected: "Refused", earlyRetries: "Early retries", units: "Units", cost: "Cost", savings: "Saved" };
  const line = (surface, totals, cls) =>
    h("tr", { class: cls, dataset: { surface } }, h(cls ? "th" : "td", { scope: "row" }, surface === "*" ? "All surfaces" : surface), fields.map((f) => h("td", { class: "num", dataset: { field: f } }, shownValue(totals, f))));
  return h(
    "table",
    { class: "usage-totals" },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Surface"), fields.map((f) => h("th", { scope: "col", class: "num" }, heads[f])))),
    h("tbody", {}, [...bySurface].map(([s, t]) => line(s, t, ""))),
    h("tfoot", {}, line("*", all, "total")),
  );
}

/** A two-column table of a name → count map (incentives used, refusals by code). */
function countsTable(counts, { name, value, kind }) {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return h("p", { class: "empty", dataset: { empty: kind } }, "None.");
  return h(
    "table",
    { class: "counts", dataset: { kind } },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, name), h("th", { scope: "col", class: "num" }, value))),
    h("tbody", {}, entries.map(([k, n]) => h("tr", { dataset: { key: k } }, h("td", {}, k), h("td", { class: "num" }, String(n))))),
  );
}

// ── limits (GET /tenants/{id}/limits, or `limits` of GET /_tollgate/usage) ──

const when = (iso) => (iso ? new Date(iso).toISOString().replace("T", " ").replace(/:\d\d\.\d+Z$/, " UTC") : "");

function limitsTable(limits) {
  const surfaces = Object.keys(limits ?? {}).sort();
  if (surfaces.length === 0) return h("p", { class: "empty" }, "No surfaces.");
  const dash = "—";
  return h(
    "table",
    { class: "limits" },
    h(
      "thead",
      {},
      h("tr", {}, ["Surface", "Rate limit", "Rate remaining", "Quota limit", "Quota used", "Quota remaining", "Period ends", "In flight"].map((t, i) => h("th", { scope: "col", class: i > 0 && i !== 6 ? "num" : null }, t))),
    ),
    h(
      "tbody",
      {},
      surfaces.map((s) => {
        const l = limits[s];
        const cell = (field, v) => h("td", { class: "num", dataset: { field } }, v === undefined ? dash : String(v));
        return h(
          "tr",
          { dataset: { surface: s } },
          h("th", { scope: "row" }, s),
          cell("rateLimit", l.rate?.limit),
          cell("rateRemaining", l.rate?.remaining),
          cell("quotaLimit", l.quota?.limit),
          cell("quotaUsed", l.quota?.used),
          cell("quotaRemaining", l.quota?.remaining),
          h("td", { dataset: { field: "periodEnd" } }, l.quota ? when(l.quota.periodEnd) : dash),
          cell("inFlight", l.inFlight),
        );
      }),
    ),
  );
}

// ── charts (uPlot, served by the gateway as /_tollgate/ui/uplot.js) ──

const seconds = (iso) => Math.floor(Date.parse(iso) / 1000);

/** A uPlot chart in a <figure data-chart=name>; the instance stays on the element (`.uplot`) for tests and later sections. */
function chart(name, { title, series, data, scales, axes }) {
  const figure = h("figure", { class: "chart", dataset: { chart: name } }, h("figcaption", {}, title));
  const width = Math.max(320, Math.min(900, (document.getElementById("app")?.clientWidth ?? 900) - 16));
  const options = {
    width,
    height: 240,
    series: [{}, ...series.map((s) => ({ points: { show: true, size: 6 }, width: 2, ...s }))],
    scales: { x: { time: true }, ...scales },
    axes: axes ?? [{}, { scale: series[0]?.scale ?? "y" }],
    legend: { live: false },
  };
  figure.uplot = new uPlot(options, data, figure);
  return figure;
}

const COLOURS = { requests: "#2563eb", charged: "#16a34a", units: "#9333ea", cost: "#dc2626", limit: "#6b7280", used: "#ea580c" };

const PERIOD_SECONDS = { hour: 3600, day: 86400, month: 31 * 86400 };

/** Requests, charged, units (left axis) and cost (right axis) per period, summed over surfaces. */
function usageChart(rows, granularity) {
  const byPeriod = new Map();
  for (const row of rows) {
    if (!byPeriod.has(row.periodStart)) byPeriod.set(row.periodStart, emptyTotals());
    addRow(byPeriod.get(row.periodStart), row);
  }
  const periods = [...byPeriod.keys()].sort();
  const column = (f) => periods.map((p) => (MONEY_FIELDS.includes(f) ? Number(byPeriod.get(p)[f]) / 1e6 : byPeriod.get(p)[f]));
  return chart("usage", {
    title: `Usage per ${granularity} (all surfaces)`,
    data: [periods.map(seconds), column("requests"), column("charged"), column("units"), column("cost")],
    series: [
      { label: "requests", stroke: COLOURS.requests, scale: "count" },
      { label: "charged", stroke: COLOURS.charged, scale: "count" },
      { label: "units", stroke: COLOURS.units, scale: "count" },
      { label: "cost", stroke: COLOURS.cost, scale: "money", value: (_, v) => (v === null || v === undefined ? "" : v.toFixed(6)) },
    ],
    scales: {
      // One period alone would otherwise stretch the time axis over years.
      x: { time: true, range: (_, min, max) => (min === max ? [min - PERIOD_SECONDS[granularity], max + PERIOD_SECONDS[granularity]] : [min, max]) },
      count: { range: (_, min, max) => [0, Math.max(1, max)] },
      money: { range: (_, min, max) => [0, max > 0 ? max : 1] },
    },
    axes: [{}, { scale: "count", label: "count" }, { scale: "money", side: 1, label: "cost", grid: { show: false } }],
  });
}

/** Cumulative quota used since the period began (from hourly rollups) against the limit. */
function burnDownChart(surface, quota, hourlyRows) {
  const rows = hourlyRows.filter((r) => r.surface === surface && r.periodStart >= quota.periodStart).sort((a, b) => a.periodStart.localeCompare(b.periodStart));
  const xs = [seconds(quota.periodStart)];
  const used = [0];
  let sum = 0;
  for (const r of rows) {
    sum += r.units;
    xs.push(seconds(r.periodStart) + 3600);
    used.push(sum);
  }
  const end = seconds(quota.periodEnd);
  const now = Math.min(end, Math.floor(Date.now() / 1000));
  if (xs[xs.length - 1] < now) (xs.push(now), used.push(sum));
  else if (xs[xs.length - 1] > end) xs[xs.length - 1] = end;
  xs.push(end);
  used.push(null);
  return chart(`quota-${surface}`, {
    title: `${surface}: ${quota.used} of ${quota.limit} used this period (ends ${when(quota.periodEnd)})`,
    data: [xs, used, xs.map(() => quota.limit)],
    series: [
      { label: "used", stroke: COLOURS.used, scale: "units", fill: "rgba(234,88,12,0.08)" },
      { label: "limit", stroke: COLOURS.limit, scale: "units", dash: [6, 4], points: { show: false } },
    ],
    scales: { units: { range: (_, min, max) => [0, Math.max(1, max) * 1.05] } },
    axes: [{}, { scale: "units", label: "units" }],
  });
}

/** A titled section whose body a loader fills; a failed load shows its problem in the section only. */
function section(id, title) {
  const body = h("div", { class: "section-body" }, h("p", { class: "loading" }, "Loading…"));
  return { el: h("section", { id, dataset: { section: id } }, title ? h("h2", {}, title) : null, body), body };
}

async function fillSection(s, load) {
  try {
    fill(s.body, await load());
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 401) return;
    fill(s.body, h("p", { class: "problem", role: "alert" }, error instanceof ApiProblem ? `${error.status}: ${error.message}` : String(error?.message ?? error)));
  }
}

/** Runs a section's render with a `reload` that runs it again (after an action changed what it shows). */
function renderInto(s, render) {
  const reload = () => fillSection(s, () => render(reload));
  return reload();
}

// ── partners: grants, calls on behalf of others, statements (CONTRACT §7) ──

const currentMonth = () => new Date().toISOString().slice(0, 7);
const dash = "—";

/** A button that runs `action`, then `after`; a refused action shows its problem in `status`. */
function actionButton(label, cls, status, action, after) {
  const button = h("button", { type: "button", class: cls }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    fill(status);
    try {
      await action();
    } catch (error) {
      button.disabled = false;
      if (error instanceof ApiProblem && error.status === 401) return;
      fill(status, h("p", { class: "problem", role: "alert" }, error instanceof ApiProblem ? `${error.status}: ${error.message}` : String(error?.message ?? error)));
      return;
    }
    await after();
  });
  return button;
}

const surfacesOf = (g) => (g.surfaces === "*" ? "all surfaces (*)" : (g.surfaces ?? []).join(", "));

/**
 * Grants as a table, newest first; every cell says its field, every row its grant and status.
 * `actionsOf(grant, status)` gives the buttons of a row (status: where a refused action shows why).
 */
function grantsTable(grants, actionsOf) {
  if (grants.length === 0) return h("p", { class: "empty", dataset: { empty: "grants" } }, "No grants.");
  const status = h("div", { class: "grant-status", "aria-live": "polite" });
  const sorted = [...grants].sort((a, b) => String(b.createdAt ?? "").localeCompare(String(a.createdAt ?? "")) || a.id.localeCompare(b.id));
  const cell = (field, value) => h("td", { dataset: { field } }, value);
  const table = h(
    "table",
    { class: "grants" },
    h("thead", {}, h("tr", {}, ["Grant", "Partner", "Customer", "Surfaces", "Payer", "Share", "Status", "Expires", "Requested by", ""].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      sorted.map((g) =>
        h(
          "tr",
          { dataset: { grant: g.id, status: g.status } },
          h("td", {}, h("code", {}, g.id)),
          cell("partner", g.partner),
          cell("customer", g.customer),
          cell("surfaces", surfacesOf(g)),
          cell("payer", g.payer),
          cell("share", g.share ?? dash),
          cell("status", g.status),
          cell("expiresAt", g.expiresAt ? when(g.expiresAt) : "never"),
          cell("requestedBy", g.requestedBy ?? dash),
          h("td", { class: "actions" }, actionsOf(g, status)),
        ),
      ),
    ),
  );
  return [table, status];
}

const BREAKDOWN_HEADS = { tenant: "Customer", actor: "Called by", payer: "Paid by", surface: "Surface" };
const BREAKDOWN_FIELDS = ["requests", "units", "cost", "partnerEarnings"];

/**
 * Rollup rows summed by some of their dimensions (e.g. actor, payer, surface), with a total row:
 * who made the calls and who paid for them. Rows without `actor`/`payer` are the tenant's own.
 */
function breakdownTable(rows, dims, caption, ownTenant) {
  const groups = new Map();
  const total = { requests: 0, units: 0, cost: 0n, partnerEarnings: 0n };
  const add = (t, r) => {
    t.requests += r.requests ?? 0;
    t.units += r.units ?? 0;
    t.cost += toMicros(r.cost);
    t.partnerEarnings += toMicros(r.partnerEarnings);
  };
  for (const r of rows) {
    const key = dims.map((d) => r[d] ?? (d === "surface" ? "" : (r.tenant ?? ownTenant)));
    const k = JSON.stringify(key);
    if (!groups.has(k)) groups.set(k, { key, totals: { requests: 0, units: 0, cost: 0n, partnerEarnings: 0n } });
    add(groups.get(k).totals, r);
    add(total, r);
  }
  const sorted = [...groups.values()].sort((a, b) => a.key.join("\u0000").localeCompare(b.key.join("\u0000")));
  const shown = (t, f) => (typeof t[f] === "bigint" ? formatMicros(t[f]) : String(t[f]));
  const heads = { requests: "Requests", units: "Units", cost: "Cost", partnerEarnings: "Partner earnings" };
  return h(
    "table",
    { class: "breakdown", dataset: { by: dims.join(",") } },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, dims.map((d) => h("th", { scope: "col" }, BREAKDOWN_HEADS[d])), BREAKDOWN_FIELDS.map((f) => h("th", { scope: "col", class: "num" }, heads[f])))),
    h(
      "tbody",
      {},
      sorted.map(({ key, totals }) =>
        h(
          "tr",
          { dataset: Object.fromEntries(dims.map((d, i) => [d, key[i]])) },
          key.map((v) => h("td", {}, v)),
          BREAKDOWN_FIELDS.map((f) => h("td", { class: "num", dataset: { field: f } }, shown(totals, f))),
        ),
      ),
    ),
    h("tfoot", {}, h("tr", { class: "total", dataset: { total: "" } }, h("th", { scope: "row", colspan: dims.length }, "All"), BREAKDOWN_FIELDS.map((f) => h("td", { class: "num", dataset: { field: f } }, shown(total, f))))),
  );
}

const STATEMENT_LINE_FIELDS = ["requests", "units", "charges", "partnerEarnings"];

/** A statement's lines: by surface, whose calls (tenant: the customer of a delegated call), who called (actor) and who paid (payer). */
function statementLines(lines) {
  if (!lines?.length) return h("p", { class: "empty" }, "No lines.");
  return h(
    "table",
    { class: "statement-lines" },
    h("thead", {}, h("tr", {}, ["Surface", "For", "Called by", "Paid by", "Requests", "Units", "Charges", "Partner earnings"].map((t, i) => h("th", { scope: "col", class: i > 3 ? "num" : null }, t)))),
    h(
      "tbody",
      {},
      lines.map((l) =>
        h(
          "tr",
          { dataset: { surface: l.surface, tenant: l.tenant, actor: l.actor, payer: l.payer } },
          h("td", {}, l.surface),
          h("td", {}, l.tenant ?? dash),
          h("td", {}, l.actor),
          h("td", {}, l.payer),
          STATEMENT_LINE_FIELDS.map((f) => h("td", { class: "num", dataset: { field: f } }, String(l[f] ?? dash))),
        ),
      ),
    ),
  );
}

/** A month picker (YYYY-MM, default this month) that calls `onPick(period)` on submit. */
function periodForm(id, period, onPick) {
  const input = h("input", { type: "month", id, value: period, required: true, pattern: "\\d{4}-\\d{2}" });
  return h(
    "form",
    { class: "period", onsubmit: (e) => (e.preventDefault(), onPick(input.value || currentMonth())) },
    h("label", { for: id }, "Period "),
    input,
    " ",
    h("button", { type: "submit" }, "Show"),
  );
}

// ── advice (CONTRACT §8): GET /tenants/{id}/recommendations, or /_tollgate/recommendations ──

const RECOMMENDATION_TEXT = {
  "use-batching": "Send more units per call: calls below the plan's batch minimum miss its multiplier.",
  "use-idempotency-keys": "Send an Idempotency-Key with unsafe calls: the plan rewards it, and retries become safe.",
  "honor-retry-after": "Wait for Retry-After before retrying a refused call: early retries are refused again.",
  "use-conditional-requests": "Send If-None-Match: an answer that did not change (304) costs less. What it would save depends on how often the data changes.",
  "stop-calling-deprecated": "This surface is deprecated: move off it before its sunset.",
};

const evidenceText = (evidence) =>
  Object.entries(evidence ?? {})
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" · ");

/** Recommendations with their evidence and savings (money as the API wrote it; null = unknown). */
function recommendationsTable(recs) {
  if (recs.length === 0) return h("p", { class: "empty", dataset: { empty: "recommendations" } }, "No recommendations: nothing in the retained calls suggests a cheaper or safer way.");
  return h(
    "table",
    { class: "recommendations" },
    h("thead", {}, h("tr", {}, ["Advice", "Surface", "Evidence", "Would have saved"].map((t, i) => h("th", { scope: "col", class: i === 3 ? "num" : null }, t)))),
    h(
      "tbody",
      {},
      recs.map((r) =>
        h(
          "tr",
          { dataset: { code: r.code, surface: r.surface } },
          h("td", {}, h("strong", {}, r.code), h("br"), RECOMMENDATION_TEXT[r.code] ?? ""),
          h("td", {}, h("code", {}, r.surface)),
          h("td", { dataset: { field: "evidence" } }, evidenceText(r.evidence)),
          h("td", { class: "num", dataset: { field: "savings" } }, r.savings === null ? "unknown" : r.savings),
        ),
      ),
    ),
  );
}
