// Admissions for one tenant, from one isolate, travel one call at a time (issue 15). A request
// whose tenant has no admission on its way calls `admit` at once, as it always did; requests that
// arrive while one is on its way wait, and go together in one `admitBatch` call when it answers.
// Every request is still admitted by the limiter, durably, before it is forwarded (strict mode is
// unchanged): what the batch saves is the per-call cost — the round trip, the object's event and
// its commit — that a hot tenant's concurrent requests would otherwise each pay. One request
// alone waits for nothing; a tenant's limiter serves a few calls where it served many.
import type { AdmitRequest, AdmitResult, BatchedAdmission } from "../limiter/protocol";
import { limiterOf } from "../limiter/stub";

/** At most this many admissions in one call; the rest go in the next. */
export const MAX_BATCH = 64;
/**
 * A call on its way longer than this is not waited for: a request arriving then calls on its own,
 * so a limiter that is slow to answer one call never holds a whole isolate's requests behind it.
 */
export const LINE_PATIENCE_MS = 1_000;

interface Waiting {
  req: AdmitRequest;
  resolve: (result: AdmitResult) => void;
  reject: (error: unknown) => void;
}

interface Line {
  /** When the call now on its way was made (ms). */
  since: number;
  waiting: Waiting[];
}

/** Tenants with an admission call on its way from this isolate, and the requests waiting for it to answer. */
const lines = new Map<string, Line>();

/**
 * The limiter's answer to `req`. `keepAlive` is the request's `waitUntil`: the calls that carry
 * other requests' admissions are made from this request's context, which must outlive them.
 * `now` is for tests of the line's patience.
 */
export function admitInLine(env: Pick<Env, "LIMITER">, tenantId: string, req: AdmitRequest, keepAlive: (promise: Promise<unknown>) => void, now = Date.now()): Promise<AdmitResult> {
  const open = lines.get(tenantId);
  if (open && now - open.since <= LINE_PATIENCE_MS) return new Promise((resolve, reject) => open.waiting.push({ req, resolve, reject }));
  const first = limiterOf(env, tenantId).admit(req);
  if (open) return first; // the line's call is slow: this request neither waits for it nor holds one
  const line: Line = { since: now, waiting: [] };
  lines.set(tenantId, line);
  // Runs before the caller's own continuation (registered first): a lone request's line closes at
  // once, with no waitUntil; otherwise the calls for those who waited go from this request's
  // context, which its waitUntil keeps alive until they are answered.
  const answered = () => {
    if (line.waiting.length === 0) lines.delete(tenantId);
    else {
      const calls = drain(env, tenantId, line);
      try {
        keepAlive(calls);
      } catch (error) {
        console.error("admission line: the calls for waiting requests could not be kept alive", error);
      }
    }
  };
  first.then(answered, answered);
  return first;
}

/** Sends what waited, one call at a time, until nothing waits; then the tenant's line is closed. */
async function drain(env: Pick<Env, "LIMITER">, tenantId: string, line: Line): Promise<void> {
  try {
    while (line.waiting.length > 0) {
      const batch = line.waiting.splice(0, MAX_BATCH);
      line.since = Date.now();
      let results: BatchedAdmission[];
      try {
        results = await limiterOf(env, tenantId).admitBatch(batch.map((w) => w.req));
      } catch (error) {
        for (const w of batch) w.reject(error);
        continue;
      }
      batch.forEach((w, i) => {
        const result = results[i];
        if (!result) w.reject(new Error("the limiter answered fewer admissions than it was sent"));
        else if (result.kind === "failed") w.reject(new Error(`admission failed in the limiter: ${result.message}`));
        else w.resolve(result);
      });
    }
  } finally {
    lines.delete(tenantId);
    for (const w of line.waiting.splice(0)) w.reject(new Error("the admission line closed"));
  }
}
