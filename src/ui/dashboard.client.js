// GET /_tollgate/dashboard (CONTRACT §9): tenants with search, a tenant's usage, quota burn-down,
// limits, incentives, refusals and keys, and the catalog's versions with their diffs. Data comes
// from the admin API with the token entered once per browser session.
// Partners (CONTRACT §7): a tenant's grants (approve, revoke), who called and who paid in its usage,
// the calls a partner made for others, and every tenant's statement of a month with the books' balance.
// Governance (issue 12): a tenant's recommendations, and a catalog simulation of the retained requests.
// To show more (webhooks), add an entry to `tenantSections` or `pageSections`.
"use strict";

const session = new Session({ storageKey: "tollgate.adminToken", label: "Admin token", placeholder: "ADMIN_TOKEN or tga_…", onReady: showDashboard });
const admin = (path) => session.call("GET", `/_tollgate/admin${path}`);
const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString();

// ── a tenant's view: one entry per section, in order ──

/**
 * What the sections of one tenant's view share: the tenant, the chosen granularity, and each API
 * answer fetched once however many sections read it.
 */
function tenantView(tenant, granularity) {
  const cache = new Map();
  const once = (key, load) => {
    if (!cache.has(key)) cache.set(key, load());
    return cache.get(key);
  };
  const id = encodeURIComponent(tenant.id);
  return {
    tenant,
    granularity,
    usage: () => once("usage", () => admin(`/usage?${query({ tenant: tenant.id, granularity })}`)),
    limits: () => once("limits", () => admin(`/tenants/${id}/limits`)),
    keys: () => once("keys", () => admin(`/tenants/${id}/keys`)),
    hourlySince: (from) => once(`hourly:${from}`, () => admin(`/usage?${query({ tenant: tenant.id, granularity: "hour", from })}`)),
    /** Calls this tenant made on behalf of others (rows of other tenants whose actor it is). */
    acting: () =>
      once("acting", async () => (await admin(`/usage?${query({ actor: tenant.id, granularity })}`)).filter((r) => r.actor === tenant.id && r.tenant !== tenant.id)),
    /** Grants naming the tenant either side; read afresh each time (actions change them). */
    grants: async () => {
      const [asCustomer, asPartner] = await Promise.all([admin(`/grants?${query({ customer: tenant.id })}`), admin(`/grants?${query({ partner: tenant.id })}`)]);
      const byId = new Map([...asCustomer.items, ...asPartner.items].filter((g) => g.customer === tenant.id || g.partner === tenant.id).map((g) => [g.id, g]));
      return [...byId.values()];
    },
  };
}

const tenantSections = [
  {
    id: "usage",
    title: "Usage over time",
    render: async (view) => {
      const rows = await view.usage();
      if (rows.length === 0) return h("p", { class: "empty" }, "No usage yet.");
      // Calls a partner made on the tenant's behalf (actor ≠ tenant) or paid by another (payer ≠ tenant).
      const delegated = rows.some((r) => (r.actor ?? r.tenant) !== r.tenant || (r.payer ?? r.tenant) !== r.tenant);
      return [
        usageChart(rows, view.granularity),
        totalsTable(rows, `Totals of every ${view.granularity} row`),
        delegated ? breakdownTable(rows, ["actor", "payer", "surface"], "Who called and who paid (a partner's calls on this tenant's behalf have another caller)", view.tenant.id) : null,
      ];
    },
  },
  {
    id: "quota",
    title: "Quota burn-down",
    render: async (view) => {
      const limits = await view.limits();
      const withQuota = Object.entries(limits).filter(([, l]) => l.quota).sort(([a], [b]) => a.localeCompare(b));
      if (withQuota.length === 0) return h("p", { class: "empty" }, "No surface of this tenant has a quota.");
      const earliest = withQuota.map(([, l]) => l.quota.periodStart).sort()[0];
      const hourly = await view.hourlySince(earliest);
      return withQuota.map(([surface, l]) => burnDownChart(surface, l.quota, hourly));
    },
  },
  {
    id: "limits",
    title: "Limits now",
    render: async (view) => limitsTable(await view.limits()),
  },
  {
    id: "incentives",
    title: "Incentives used and money saved",
    render: async (view) => {
      const { all } = totalsOf(await view.usage());
      return [
        h("p", {}, "Money saved by incentives: ", h("strong", { dataset: { field: "savings-total" } }, formatMicros(all.savings))),
        countsTable(all.incentives, { name: "Incentive", value: "Requests", kind: "incentives" }),
      ];
    },
  },
  {
    id: "refusals",
    title: "Refusals and early retries",
    render: async (view) => {
      const { all } = totalsOf(await view.usage());
      return [
        h("p", {}, "Refused: ", h("strong", { dataset: { field: "rejected-total" } }, String(all.rejected)), " · early retries (ignored Retry-After): ", h("strong", { dataset: { field: "early-retries-total" } }, String(all.earlyRetries))),
        all.hasRefusals || all.rejected === 0
          ? countsTable(all.refusals, { name: "Problem code", value: "Refusals", kind: "refusals" })
          : h("p", { class: "empty" }, "This gateway's rollups do not break refusals down by code."),
      ];
    },
  },
  {
    id: "recommendations",
    title: "Recommendations",
    render: async (view) => [
      h("p", {}, "What this tenant could change in how it integrates, from its own calls, priced with its plan."),
      recommendationsTable(await admin(`/tenants/${encodeURIComponent(view.tenant.id)}/recommendations`)),
    ],
  },
  {
    id: "keys",
    title: "API keys",
    render: async (view) => {
      const keys = await view.keys();
      if (keys.length === 0) return h("p", { class: "empty" }, "No keys.");
      return h(
        "table",
        { class: "keys" },
        h("thead", {}, h("tr", {}, ["Prefix", "Name", "Created", "Expires", "Revoked"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          keys.map((k) => h("tr", { dataset: { key: k.id } }, h("td", {}, h("code", {}, k.prefix)), h("td", {}, k.name ?? ""), h("td", {}, when(k.createdAt)), h("td", {}, when(k.expiresAt)), h("td", {}, k.revokedAt ? when(k.revokedAt) : "active"))),
        ),
      );
    },
  },
  {
    id: "grants",
    title: "Grants",
    render: async (view, reload) => {
      const grants = await view.grants();
      const path = (g) => `/_tollgate/admin/grants/${encodeURIComponent(g.id)}`;
      return [
        h("p", {}, "Grants naming this tenant as partner or customer. A partner calls on a customer's behalf only under an active grant."),
        grantsTable(grants, (g, status) => {
          if (g.status === "pending")
            return actionButton("Approve", "approve-grant", status, async () => {
              // The grant as read now, so a change made meanwhile is refused (412), never overwritten.
              const read = await session.request("GET", path(g));
              await session.call("PATCH", path(g), { status: "active" }, { "If-Match": read.headers.get("ETag") ?? "*" });
            }, reload);
          if (g.status === "active") return actionButton("Revoke", "revoke-grant", status, () => session.call("DELETE", path(g)), reload);
          return null;
        }),
      ];
    },
  },
  {
    id: "acting",
    title: "Calls made for others",
    render: async (view) => {
      const rows = await view.acting();
      if (rows.length === 0) return h("p", { class: "empty", dataset: { empty: "acting" } }, "None: this tenant made no calls on behalf of a customer.");
      return breakdownTable(rows, ["tenant", "payer", "surface"], `Calls this tenant made on customers' behalf, every ${view.granularity} row`, view.tenant.id);
    },
  },
];

function showTenant(tenant, granularity = "day") {
  location.hash = `tenant=${encodeURIComponent(tenant.id)}`;
  const view = tenantView(tenant, granularity);
  const select = h(
    "select",
    { id: "granularity", onchange: (e) => showTenant(tenant, e.target.value) },
    ["hour", "day", "month"].map((g) => h("option", { value: g, selected: g === granularity }, g)),
  );
  const sections = tenantSections.map((s) => ({ ...s, ...section(`tenant-${s.id}`, s.title) }));
  fill(
    document.getElementById("tenant"),
    h("h2", { id: "tenant-title" }, "Tenant ", h("code", {}, tenant.id), tenant.name ? [" — ", h("span", { class: "tenant-name" }, tenant.name)] : null),
    h("p", { class: "tenant-terms" }, `${tenant.kind ?? ""} · plan ${tenant.plan} · ${tenant.status ?? "active"}`, tenant.addons?.length ? ` · add-ons ${tenant.addons.join(", ")}` : "", " · rows per ", h("label", { for: "granularity", class: "visually-hidden" }, "granularity"), select),
    sections.map((s) => s.el),
  );
  return Promise.all(sections.map((s) => renderInto(s, (reload) => s.render(view, reload))));
}

// ── the page's own sections ──

const LIST_PAGE = 100;

/**
 * Tenants whose id or name contains the text (`?q=`; filtered here too, for a gateway without it),
 * following cursors; with no text, the first page only.
 */
async function searchTenants(text) {
  const found = [];
  let cursor;
  for (let page = 0; page < 50; page++) {
    const answer = await admin(`/tenants?${query({ limit: LIST_PAGE, q: text, cursor })}`);
    found.push(...answer.items);
    cursor = answer.cursor;
    if (!cursor || !text) break;
  }
  const needle = text.toLowerCase();
  return { tenants: found.filter((t) => !needle || t.id.toLowerCase().includes(needle) || (t.name ?? "").toLowerCase().includes(needle)), more: Boolean(cursor) };
}

function tenantList({ tenants, more }) {
  if (tenants.length === 0) return h("p", { class: "empty" }, "No tenant matches.");
  const note = more ? h("p", { class: "empty" }, `The first ${tenants.length} tenants; search to find others.`) : null;
  return [note, h(
    "table",
    { class: "tenants" },
    h("thead", {}, h("tr", {}, ["Id", "Name", "Kind", "Plan", "Status", ""].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      tenants.map((t) =>
        h(
          "tr",
          { dataset: { tenant: t.id } },
          h("td", {}, h("code", {}, t.id)),
          h("td", { class: "tenant-name" }, t.name ?? ""),
          h("td", {}, t.kind),
          h("td", {}, t.plan),
          h("td", {}, t.status),
          h("td", {}, h("button", { type: "button", class: "open-tenant", onclick: () => showTenant(t) }, "Open")),
        ),
      ),
    ),
  )];
}

function diffList(diff) {
  if (diff.changes.length === 0) return h("p", { class: "empty" }, `No changes from version ${diff.from} to ${diff.to}.`);
  return [
    h("p", {}, `From version ${diff.from} to ${diff.to}:`),
    h("ul", { class: "diff", dataset: { from: diff.from, to: diff.to } }, diff.changes.map((c) => h("li", { class: `op-${c.op}` }, describeChange(c)))),
  ];
}

async function showDiff(target, to) {
  fill(target, h("p", { class: "loading" }, "Loading…"));
  await fillSection({ body: target }, async () => diffList(await admin(`/catalog/diff?${query({ from: Math.max(0, to - 1), to })}`)));
}

const STATEMENT_FIELDS = ["charges", "partnerEarnings", "platformNet"];

/**
 * Every tenant's statement of a month, one row each with its lines behind a button, the API's
 * totals, and whether the books balance: Σ charges = Σ partner earnings + Σ platform net, summed
 * here in micro-units from the rows themselves.
 */
function statementsTable(answer) {
  const items = [...answer.items].sort((a, b) => a.tenant.localeCompare(b.tenant));
  const sums = Object.fromEntries(STATEMENT_FIELDS.map((f) => [f, items.reduce((n, st) => n + toMicros(st[f]), 0n)]));
  const balanced = sums.charges === sums.partnerEarnings + sums.platformNet;
  const totalsAgree = STATEMENT_FIELDS.every((f) => toMicros(answer.totals?.[f]) === sums[f]);
  const money = (st, f) => h("td", { class: "num", dataset: { field: f } }, formatMicros(toMicros(st[f])));
  const rows = items.flatMap((st) => {
    const lines = h("tr", { class: "statement-lines-row", dataset: { linesOf: st.tenant }, hidden: true }, h("td", { colspan: 5 }, statementLines(st.lines)));
    const toggle = h("button", { type: "button", class: "toggle-lines", "aria-expanded": "false" }, `Lines (${st.lines?.length ?? 0})`);
    toggle.addEventListener("click", () => {
      lines.hidden = !lines.hidden;
      toggle.setAttribute("aria-expanded", String(!lines.hidden));
    });
    return [h("tr", { dataset: { tenant: st.tenant } }, h("th", { scope: "row" }, st.tenant), STATEMENT_FIELDS.map((f) => money(st, f)), h("td", {}, toggle)), lines];
  });
  return [
    h(
      "table",
      { class: "statements", dataset: { period: answer.period } },
      h("caption", {}, `Statements of ${answer.period}${answer.currency ? ` (${answer.currency})` : ""}`),
      h("thead", {}, h("tr", {}, ["Tenant", "Charges", "Partner earnings", "Platform net", ""].map((t, i) => h("th", { scope: "col", class: i > 0 && i < 4 ? "num" : null }, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No statements for this period."))),
      h("tfoot", {}, h("tr", { class: "total", dataset: { total: "" } }, h("th", { scope: "row" }, "Totals"), STATEMENT_FIELDS.map((f) => money(answer.totals ?? {}, f)), h("td"))),
    ),
    h(
      "p",
      { class: balanced ? "balance" : "balance problem", dataset: { field: "balance", balanced: String(balanced) } },
      `Σ charges ${formatMicros(sums.charges)} = Σ partner earnings ${formatMicros(sums.partnerEarnings)} + Σ platform net ${formatMicros(sums.platformNet)}: `,
      h("strong", {}, balanced ? "the books balance." : `the books do not balance (off by ${formatMicros(sums.charges - sums.partnerEarnings - sums.platformNet)}).`),
    ),
    totalsAgree ? null : h("p", { class: "problem", role: "alert", dataset: { field: "totals-disagree" } }, "The totals the API answered differ from the sum of the statements."),
  ];
}

/** The answer of POST /catalog/simulate: per tenant × surface, totals, stranded tenants, notes. */
function simulationResult(sim) {
  const money = (v, field) => h("td", { class: "num", dataset: { field } }, v);
  const rows = sim.items.map((i) =>
    h(
      "tr",
      { dataset: { tenant: i.tenant, surface: i.surface } },
      h("td", {}, h("code", {}, i.tenant)),
      h("td", {}, h("code", {}, i.surface)),
      money(i.current.cost, "current-cost"),
      h("td", { class: "num", dataset: { field: "current-refusals" } }, String(i.current.refusals)),
      money(i.candidate.cost, "candidate-cost"),
      h("td", { class: "num", dataset: { field: "candidate-refusals" } }, String(i.candidate.refusals)),
      money(i.delta, "delta"),
    ),
  );
  return [
    h(
      "table",
      { class: "simulation", dataset: { from: sim.from, to: sim.to } },
      h("caption", {}, `Requests from ${when(sim.from)} to ${when(sim.to)}, re-priced with the pasted catalog`),
      h("thead", {}, h("tr", {}, ["Tenant", "Surface", "Cost now", "Refused now", "Cost with it", "Refused with it", "Delta"].map((t, i) => h("th", { scope: "col", class: i > 1 ? "num" : null }, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 7, class: "empty" }, "No retained requests in this window."))),
      h("tfoot", {}, h("tr", { class: "total", dataset: { total: "" } }, h("th", { scope: "row", colspan: 2 }, "Totals"), money(sim.totals.current, "current-cost"), h("td"), money(sim.totals.candidate, "candidate-cost"), h("td"), money(sim.totals.delta, "delta"))),
    ),
    sim.stranded.length === 0
      ? h("p", { dataset: { field: "stranded" } }, "Stranded tenants: none.")
      : [h("p", {}, `Stranded tenants (${sim.stranded.length}): their terms name what this catalog no longer has.`), h("ul", { class: "stranded", dataset: { field: "stranded" } }, sim.stranded.flatMap((s) => s.reasons.map((r) => h("li", { dataset: { tenant: s.tenant } }, h("code", {}, s.tenant), `: ${r.message}`))))],
    sim.changes.length ? h("details", {}, h("summary", {}, `Changes from the current catalog (${sim.changes.length})`), h("ul", { class: "diff" }, sim.changes.map((c) => h("li", { class: `op-${c.op}` }, describeChange(c))))) : h("p", {}, "Same as the current catalog."),
    sim.notes.length ? h("ul", { class: "notes" }, sim.notes.map((n) => h("li", {}, n))) : null,
  ];
}

/** Paste a candidate catalog (JSON), optionally name tenants, and see what it would have cost. */
function simulateForm() {
  const catalog = h("textarea", { id: "simulate-catalog", rows: 10, cols: 80, placeholder: '{"currency": "USD", "surfaces": {…}, "plans": {…}}', spellcheck: "false" });
  const tenants = h("input", { id: "simulate-tenants", size: 40, placeholder: "all tenants; or ids separated by spaces or commas", autocomplete: "off" });
  const result = h("div", { id: "simulate-result", "aria-live": "polite" });
  const run = async () => {
    let parsed;
    try {
      parsed = JSON.parse(catalog.value);
    } catch (error) {
      return fill(result, h("p", { class: "problem", role: "alert" }, `The catalog is not JSON: ${error.message}`));
    }
    const ids = tenants.value.split(/[\s,]+/).filter(Boolean);
    fill(result, h("p", { class: "loading" }, "Simulating…"));
    try {
      fill(result, simulationResult(await session.call("POST", "/_tollgate/admin/catalog/simulate", { catalog: parsed, ...(ids.length && { tenants: ids }) })));
    } catch (error) {
      if (!(error instanceof ApiProblem)) throw error;
      const issues = Array.isArray(error.body?.errors) ? error.body.errors : [];
      fill(result, h("div", { class: "problem", role: "alert" }, h("p", {}, `${error.status}: ${error.message}`), issues.length ? h("ul", { class: "issues" }, issues.map((i) => h("li", {}, h("code", {}, i.path), `: ${i.message}`))) : null));
    }
  };
  const useCurrent = h("button", { type: "button", id: "simulate-load-current" }, "Start from the current catalog");
  useCurrent.addEventListener("click", async () => {
    catalog.value = JSON.stringify((await admin("/catalog")).catalog, null, 2);
  });
  const form = h(
    "form",
    { id: "simulate-form", onsubmit: (e) => (e.preventDefault(), run()) },
    h("p", {}, h("label", { for: "simulate-catalog" }, "Candidate catalog (JSON)"), " ", useCurrent),
    catalog,
    h("p", {}, h("label", { for: "simulate-tenants" }, "Tenants "), tenants, " ", h("button", { type: "submit" }, "Simulate")),
  );
  return [h("p", {}, "Re-price the retained requests (the last 7 days) with another catalog, changing nothing: what each tenant would have paid and been refused."), form, result];
}

const pageSections = [
  {
    id: "tenants",
    title: "Tenants",
    render: async () => {
      const results = h("div", { id: "tenant-results" });
      const input = h("input", { type: "search", id: "tenant-search", placeholder: "id or name contains…" });
      const search = async () => {
        fill(results, h("p", { class: "loading" }, "Searching…"));
        await fillSection({ body: results }, async () => tenantList(await searchTenants(input.value.trim())));
      };
      const form = h("form", { class: "search", onsubmit: (e) => (e.preventDefault(), search()) }, h("label", { for: "tenant-search" }, "Search tenants "), input, " ", h("button", { type: "submit" }, "Search"));
      void search();
      return [form, results];
    },
  },
  { id: "tenant-view", title: "", render: async () => h("div", { id: "tenant" }, h("p", { class: "empty" }, "Open a tenant to see its usage, limits and keys.")) },
  {
    id: "statements",
    title: "Statements",
    render: async () => {
      const result = h("div", { id: "statements-result", "aria-live": "polite" });
      const show = async (period) => {
        fill(result, h("p", { class: "loading" }, "Loading…"));
        await fillSection({ body: result }, async () => statementsTable(await admin(`/statements?${query({ period })}`)));
      };
      const period = currentMonth();
      void show(period);
      return [h("p", {}, "What each tenant pays, what partners earned from their share, and what the platform keeps."), periodForm("statements-period", period, show), result];
    },
  },
  {
    id: "catalog",
    title: "Catalog versions",
    render: async () => {
      const versions = await admin("/catalog/versions");
      if (versions.length === 0) return h("p", { class: "empty" }, "No catalog loaded yet.");
      const newestFirst = [...versions].sort((a, b) => b.version - a.version);
      const diff = h("div", { id: "catalog-diff" });
      const table = h(
        "table",
        { class: "versions" },
        h("thead", {}, h("tr", {}, ["Version", "Created", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, newestFirst.map((v) => h("tr", { dataset: { version: v.version } }, h("td", { class: "num" }, String(v.version)), h("td", {}, when(v.createdAt)), h("td", {}, h("button", { type: "button", class: "show-diff", onclick: () => showDiff(diff, v.version) }, "Changes"))))),
      );
      void showDiff(diff, newestFirst[0].version);
      return [table, diff];
    },
  },
  { id: "simulate", title: "Simulate a catalog", render: async () => simulateForm() },
];

async function showDashboard() {
  try {
    await admin("/catalog/versions"); // proves the token before drawing anything
  } catch (error) {
    if (!(error instanceof ApiProblem && error.status === 401)) fill(document.getElementById("app"), h("p", { class: "problem", role: "alert" }, error.message));
    return;
  }
  session.showSignedIn("Signed in with the admin token.");
  const sections = pageSections.map((s) => ({ ...s, ...section(s.id, s.title) }));
  fill(document.getElementById("app"), sections.map((s) => s.el));
  await Promise.all(sections.map((s) => renderInto(s, (reload) => s.render(reload))));
  const wanted = /^#tenant=(.+)$/.exec(location.hash)?.[1];
  if (wanted) {
    try {
      await showTenant(await admin(`/tenants/${wanted}`));
    } catch {
      // a tenant deleted since the link was made: the list is still there
    }
  }
}

session.start();
