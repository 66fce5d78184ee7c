// The audit log of admin mutations (D1 `audit_log`, append-only by trigger): who, when, what,
// target, before and after. Written after the mutation it records succeeded.
import type { Clock } from "../clock";

export interface AuditEntry {
  actor: string;
  action: string; // e.g. "tenant.update"
  target: string; // e.g. "tenant:acme"
  before: unknown;
  after: unknown;
}

export interface AuditRecord extends AuditEntry {
  id: number;
  at: string;
}

/** The root ADMIN_TOKEN's actor: it has no name of its own, and "admin" is what the log always said. Admin tokens act under their own names (CONTRACT §9). */
export const ADMIN_ACTOR = "admin";

export async function recordAudit(db: D1Database, clock: Clock, e: AuditEntry): Promise<void> {
  await db
    .prepare("INSERT INTO audit_log (at, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)")
    .bind(new Date(clock.now()).toISOString(), e.actor, e.action, e.target, e.before === undefined ? null : JSON.stringify(e.before), e.after === undefined ? null : JSON.stringify(e.after))
    .run();
}

export interface AuditFilter {
  from?: string | undefined;
  to?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  /** Answer entries with an id below this (the cursor of the previous page). */
  before?: number | undefined;
  limit: number;
}

interface Row {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  before: string | null;
  after: string | null;
}

/** Newest first. */
export async function queryAudit(db: D1Database, f: AuditFilter): Promise<AuditRecord[]> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (f.from !== undefined) (where.push("at >= ?"), args.push(f.from));
  if (f.to !== undefined) (where.push("at < ?"), args.push(f.to));
  if (f.action !== undefined) (where.push("action = ?"), args.push(f.action));
  if (f.target !== undefined) (where.push("target = ?"), args.push(f.target));
  if (f.before !== undefined) (where.push("id < ?"), args.push(f.before));
  const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
  const { results } = await db.prepare(sql).bind(...args, f.limit).all<Row>();
  return results.map((r) => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    before: r.before === null ? null : JSON.parse(r.before),
    after: r.after === null ? null : JSON.parse(r.after),
  }));
}
