// GET /_tollgate/portal (CONTRACT §9): a tenant's own usage, limits, grants (to approve, reject or
// revoke), a partner's statement and the calls it made for others, and a quote form. It only calls
// the tenant endpoints (/_tollgate/usage, /quote, /grants, /statement, /recommendations) with the tenant's own key,
// so it can never show another tenant's data.
// To show more, add an entry to `portalSections`.
"use strict";

const session = new Session({ storageKey: "tollgate.apiKey", label: "Your API key", placeholder: "tg_…", onReady: showPortal });

/** Each answer of GET /_tollgate/usage fetched once per granularity (and scope). */
function ownUsage(granularity, scope) {
  let answer;
  const q = new URLSearchParams({ granularity, ...(scope ? { scope } : {}) });
  return () => (answer ??= session.call("GET", `/_tollgate/usage?${q}`));
}

/** "Name: value" lines → an object of headers. */
function headersOf(text) {
  const headers = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf(":");
    if (line.trim() === "") continue;
    if (at <= 0) throw new Error(`Not a header line: "${line.trim()}" (write Name: value).`);
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

/** A JSON body is sent as JSON (so a json-array meter can count it); anything else as a string. */
function bodyOf(text) {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function quoteAnswer(q) {
  const row = (label, field, value) => h("tr", {}, h("th", { scope: "row" }, label), h("td", { dataset: { field } }, value));
  return h(
    "table",
    { class: "quote-answer" },
    h(
      "tbody",
      {},
      row("Allowed", "allowed", q.allowed ? "yes" : "no"),
      row("Surface", "surface", q.surface ?? "—"),
      row("Rule", "rule", q.rule ?? "—"),
      row("Units", "units", q.units === null ? "known only from the response" : `${q.units}${q.unit ? ` ${q.unit}` : ""}`),
      row("Cost", "cost", q.cost ?? "known only from the response"),
      row("Incentives", "incentives", q.incentives.length ? q.incentives.join(", ") : "none"),
      row("Paid by", "payer", q.payer ?? "—"),
      q.problem ? row("Problem", "problem", `${q.problem.type.replace(/^urn:tollgate:problem:/, "")}: ${q.problem.detail}`) : null,
    ),
  );
}

/** A tenant's statement of a month: what it pays, what it earned as a partner, and its lines. */
function statementOf(st) {
  const row = (label, field) => h("tr", {}, h("th", { scope: "row" }, label), h("td", { class: "num", dataset: { field } }, formatMicros(toMicros(st[field]))));
  return [
    h("table", { class: "statement", dataset: { period: st.period } }, h("caption", {}, `Statement of ${st.period}`), h("tbody", {}, row("You pay", "charges"), row("You earned (your share)", "partnerEarnings"), row("Platform net", "platformNet"))),
    statementLines(st.lines),
  ];
}

function quoteForm() {
  const method = h("select", { id: "quote-method" }, ["GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => h("option", { value: m }, m)));
  const path = h("input", { id: "quote-path", value: "/v1/events", required: true, size: 40 });
  const headers = h("textarea", { id: "quote-headers", rows: 2, cols: 50, placeholder: "Idempotency-Key: order-42" });
  const body = h("textarea", { id: "quote-body", rows: 3, cols: 50, placeholder: '{"records": [{"id": 1}]}' });
  const onBehalfOf = h("input", { id: "quote-on-behalf-of", size: 24, placeholder: "a customer's tenant id", autocomplete: "off" });
  const result = h("div", { id: "quote-result", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "quote" },
    h("p", {}, h("label", { for: "quote-method" }, "Method "), method, " ", h("label", { for: "quote-path" }, "Path "), path),
    h("p", {}, h("label", { for: "quote-headers" }, "Headers (one Name: value a line)"), h("br"), headers),
    h("p", {}, h("label", { for: "quote-body" }, "Body (JSON or text)"), h("br"), body),
    h("p", {}, h("label", { for: "quote-on-behalf-of" }, "On behalf of (partners: the customer, as Tollgate-On-Behalf-Of) "), onBehalfOf),
    h("p", {}, h("button", { type: "submit" }, "Quote")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    fill(result, h("p", { class: "loading" }, "Asking…"));
    await fillSection({ body: result }, async () => {
      const described = { method: method.value, path: path.value.trim(), headers: headersOf(headers.value) };
      const b = bodyOf(body.value);
      if (b !== undefined) described.body = b;
      if (onBehalfOf.value.trim()) described.onBehalfOf = onBehalfOf.value.trim();
      return quoteAnswer(await session.call("POST", "/_tollgate/quote", described));
    });
  });
  return [h("p", {}, "What would this request get now? Nothing is sent to the API and nothing is charged."), form, result];
}

const portalSections = [
  {
    id: "usage",
    title: "Your usage",
    render: async (view) => {
      const { items } = await view.usage();
      if (items.length === 0) return h("p", { class: "empty" }, "No usage yet.");
      const delegated = items.some((r) => (r.actor ?? r.tenant) !== r.tenant || (r.payer ?? r.tenant) !== r.tenant);
      return [
        usageChart(items, view.granularity),
        totalsTable(items, `Totals of every ${view.granularity} row`),
        delegated ? breakdownTable(items, ["actor", "payer", "surface"], "Who called and who paid (a partner's calls on your behalf have another caller)", view.tenant) : null,
      ];
    },
  },
  {
    id: "current-period",
    title: "This month",
    render: async (view) => {
      const { currentPeriod } = await view.usage();
      if (!currentPeriod) return h("p", { class: "empty" }, "No usage this month yet.");
      return [h("p", {}, `Month ${currentPeriod.period}, as of ${when(currentPeriod.writtenAt)}.`), totalsTable(currentPeriod.surfaces)];
    },
  },
  { id: "limits", title: "Your limits now", render: async (view) => limitsTable((await view.usage()).limits) },
  {
    id: "grants",
    title: "Grants",
    render: async (view, reload) => {
      const items = await view.grants(true);
      const me = view.tenant;
      const path = (g, action) => `/_tollgate/grants/${encodeURIComponent(g.id)}${action ? `/${action}` : ""}`;
      return [
        h("p", {}, "A partner calls the API on a customer's behalf only under a grant the customer approved. As a customer, approve or reject a partner's request, or revoke a grant; as a partner, revoke your own."),
        grantsTable(items, (g, status) => {
          const button = (label, cls, method, action) => actionButton(label, cls, status, () => session.call(method, path(g, action)), reload);
          if (g.customer === me && g.status === "pending") return [button("Approve", "approve-grant", "POST", "approve"), " ", button("Reject", "reject-grant", "POST", "reject")];
          if (g.status === "active" || (g.partner === me && g.status === "pending")) return button("Revoke", "revoke-grant", "DELETE");
          return null;
        }),
      ];
    },
  },
  {
    id: "statement",
    title: "Your statement",
    render: async (view) => {
      if (!(await view.isPartner())) return h("p", { class: "empty", dataset: { empty: "statement" } }, "Statements of earnings are for partners calling on customers' behalf.");
      const result = h("div", { id: "statement-result", "aria-live": "polite" });
      const show = async (period) => {
        fill(result, h("p", { class: "loading" }, "Loading…"));
        await fillSection({ body: result }, async () => {
          return statementOf(await session.call("GET", `/_tollgate/statement?${new URLSearchParams({ period })}`));
        });
      };
      const period = currentMonth();
      void show(period);
      return [periodForm("statement-period", period, show), result];
    },
  },
  {
    id: "acting",
    title: "Calls you made for others",
    render: async (view) => {
      if (!(await view.isPartner())) return h("p", { class: "empty", dataset: { empty: "acting" } }, "None: calls on a customer's behalf are for partners with a grant.");
      const { items } = await view.acting();
      // Only calls made on a customer's behalf: never a customer's own calls, whatever the gateway answers.
      const rows = items.filter((r) => r.actor === view.tenant && r.tenant !== view.tenant);
      if (rows.length === 0) return h("p", { class: "empty", dataset: { empty: "acting" } }, "None: no calls on behalf of a customer.");
      return breakdownTable(rows, ["tenant", "payer", "surface"], `By customer, every ${view.granularity} row`, view.tenant);
    },
  },
  {
    id: "recommendations",
    title: "Recommendations",
    render: async () => [
      h("p", {}, "What you could change in how you call the API, from your own calls of the last 7 days, priced with your plan."),
      recommendationsTable(await session.call("GET", "/_tollgate/recommendations")),
    ],
  },
  { id: "quote", title: "Quote a request", render: async () => quoteForm() },
];

async function showPortal(granularity = "day") {
  const view = { granularity, usage: ownUsage(granularity), acting: ownUsage(granularity, "acting") };
  let tenant;
  try {
    tenant = (await view.usage()).tenant;
  } catch (error) {
    if (!(error instanceof ApiProblem && error.status === 401)) fill(document.getElementById("app"), h("p", { class: "problem", role: "alert" }, error.message));
    return;
  }
  view.tenant = tenant;
  // Grants naming the tenant (fresh when `again`); a tenant that is a grant's partner is a partner.
  // Only a partner's portal asks for a statement and for calls made for others.
  let grants;
  view.grants = (again) => (!again && grants ? grants : (grants = session.call("GET", "/_tollgate/grants").then((a) => a.items)));
  view.isPartner = async () => (await view.grants()).some((g) => g.partner === tenant);
  session.showSignedIn(`Signed in as tenant ${tenant}.`);
  const select = h(
    "select",
    { id: "granularity", onchange: (e) => showPortal(e.target.value) },
    ["hour", "day", "month"].map((g) => h("option", { value: g, selected: g === granularity }, g)),
  );
  const sections = portalSections.map((s) => ({ ...s, ...section(s.id, s.title) }));
  fill(
    document.getElementById("app"),
    h("p", {}, "Tenant ", h("code", { id: "tenant-id" }, tenant), " · rows per ", h("label", { for: "granularity", class: "visually-hidden" }, "granularity"), select),
    sections.map((s) => s.el),
  );
  await Promise.all(sections.map((s) => renderInto(s, (reload) => s.render(view, reload))));
}

session.start();
