// The benchmark's floor: the least a durable per-request decision costs on this runtime. Per
// request: ONE RPC to the tenant's SQLite-backed Durable Object, which writes one row, then the
// same forward as the bare pass-through (baseline-worker.js). A gateway in strict mode does at
// least this much (CONTRACT §6), so gateway ÷ floor is the part of its cost that code can remove.
import { DurableObject } from "cloudflare:workers";

export class TenantFloor extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)");
    });
  }

  /** The decision's stand-in: one durable write, answered after it. */
  hit() {
    this.ctx.storage.sql.exec("INSERT INTO hits (at) VALUES (?)", Date.now());
    return true;
  }
}

/** The tenant id is the presented API key, as the gateway would resolve it: so N keys → N objects. */
function tenantOf(headers) {
  const bearer = /^Bearer\s+(\S+)/i.exec(headers.get("authorization") ?? "");
  return bearer?.[1] ?? headers.get("x-api-key") ?? "anonymous";
}

export default {
  async fetch(request, env) {
    await env.FLOOR.getByName(tenantOf(request.headers)).hit();
    const url = new URL(request.url);
    return fetch(env.ORIGIN_URL.replace(/\/+$/, "") + url.pathname + url.search, {
      method: request.method,
      headers: request.headers,
      body: request.body,
    });
  },
};
