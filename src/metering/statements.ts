// Statements per period (CONTRACT §7): what each tenant is charged as payer, what each partner
// earned from its share of what customers paid for its calls, and what the platform keeps. Exact
// in micro-units and balanced by construction: every row's cost is one payer's charge, its
// earnings one actor's, and each payer's platform net is its charges minus the earnings paid out
// of them — so over a period Σ charges = Σ partnerEarnings + Σ platformNet.
import { z } from "@hono/zod-openapi";
import Papa from "papaparse";
import { formatMoney, parseMoney } from "../pricing/money";
import { queryRollups } from "./usage-rows";

export const StatementLineSchema = z
  .object({
    surface: z.string(),
    tenant: z.string().openapi({ description: "whose calls: the customer (on whose behalf) or the tenant itself" }),
    actor: z.string(),
    payer: z.string(),
    requests: z.number().int(),
    units: z.number().int(),
    charges: z.string().openapi({ description: "what the payer was charged for these calls" }),
    partnerEarnings: z.string().openapi({ description: "the actor's share of those charges" }),
  })
  .openapi("StatementLine");

export const StatementSchema = z
  .object({
    tenant: z.string(),
    period: z.string(),
    charges: z.string().openapi({ description: "what the tenant pays, as payer" }),
    partnerEarnings: z.string().openapi({ description: "what the tenant earned, as a partner, from its share" }),
    platformNet: z.string().openapi({ description: "the tenant's charges minus the partner earnings paid out of them" }),
    lines: z.array(StatementLineSchema),
  })
  .openapi("Statement");
export type Statement = z.infer<typeof StatementSchema>;

export const StatementsSchema = z
  .object({
    period: z.string(),
    items: z.array(StatementSchema),
    totals: z.object({ charges: z.string(), partnerEarnings: z.string(), platformNet: z.string() }),
  })
  .openapi("Statements");
export type Statements = z.infer<typeof StatementsSchema>;

export const PeriodQuery = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "YYYY-MM").openapi({ example: "2026-11" });

interface Book {
  charges: number;
  earnings: number;
  funded: number; // earnings paid out of this tenant's charges
  lines: Statement["lines"];
}

export async function statementsOf(db: D1Database, period: string, tenant?: string): Promise<Statements> {
  const from = `${period}-01T00:00:00.000Z`;
  const to = new Date(Date.UTC(Number(period.slice(0, 4)), Number(period.slice(5)), 1)).toISOString();
  const rows = await queryRollups(db, { granularity: "month", from, to });
  const books = new Map<string, Book>();
  const book = (id: string) => {
    let b = books.get(id);
    if (!b) books.set(id, (b = { charges: 0, earnings: 0, funded: 0, lines: [] }));
    return b;
  };
  for (const r of rows) {
    const cost = parseMoney(r.cost);
    const earnings = parseMoney(r.partnerEarnings);
    if (cost === 0 && earnings === 0 && r.requests === 0) continue;
    const line = { surface: r.surface, tenant: r.tenant, actor: r.actor, payer: r.payer, requests: r.requests, units: r.units, charges: r.cost, partnerEarnings: r.partnerEarnings };
    const payer = book(r.payer);
    payer.charges += cost;
    payer.funded += earnings;
    payer.lines.push(line);
    if (r.actor !== r.payer) {
      const actor = book(r.actor);
      actor.earnings += earnings;
      actor.lines.push(line);
    }
  }
  const items: Statement[] = [...books.entries()]
    .filter(([id]) => tenant === undefined || id === tenant)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, b]) => ({ tenant: id, period, charges: formatMoney(b.charges), partnerEarnings: formatMoney(b.earnings), platformNet: formatMoney(b.charges - b.funded), lines: b.lines }));
  const sum = (f: (s: Statement) => string) => formatMoney(items.reduce((n, s) => n + parseMoney(f(s)), 0));
  return { period, items, totals: { charges: sum((s) => s.charges), partnerEarnings: sum((s) => s.partnerEarnings), platformNet: sum((s) => s.platformNet) } };
}

/** One CSV row per statement line, with the statement's tenant and totals (RFC 4180 by papaparse). */
export function statementsCsv(s: Statements): string {
  const data = s.items.flatMap((st) =>
    st.lines.map((l) => [st.tenant, s.period, st.charges, st.partnerEarnings, st.platformNet, l.surface, l.tenant, l.actor, l.payer, l.requests, l.units, l.charges, l.partnerEarnings]),
  );
  const fields = ["statement", "period", "charges", "partnerEarnings", "platformNet", "surface", "tenant", "actor", "payer", "requests", "units", "lineCharges", "linePartnerEarnings"];
  return Papa.unparse({ fields, data }, { newline: "\r\n", escapeFormulae: /^[=+@\t\r-]/ });
}
