// Requests refused before admission (no surface matched, an invalid body; CONTRACT §4): they cost
// no durable write each. They are counted in memory by surface, code and status, written together
// as one weighted usage event each at most every REFUSAL_PERSIST_MS, and a flood of them beyond
// REFUSAL_RATE is itself refused `rate-limited` (issue 8, row 8), counted the same way.
import type { LimiterStorage } from "./atomic";
import type { PreAdmissionRefusal, RefusalCode } from "./protocol";
import { take, type BucketState } from "./token-bucket";
import { recordEvent } from "./usage-log";

/** Refusals before admission are counted in memory and written at most this often. */
export const REFUSAL_PERSIST_MS = 1_000;
/** Refusals before admission are limited per tenant: a flood of them is itself refused (issue 8, row 8). */
export const REFUSAL_RATE = { limit: 20, window: 1, burst: 100 } as const;

interface Pending {
  at: number;
  surface: string | null;
  code: string;
  status: number;
  catalogVersion: number | null;
  count: number;
}

export class EarlyRefusals {
  private pending = new Map<string, Pending>();
  private bucket: BucketState | null = null;

  constructor(private readonly storage: LimiterStorage) {}

  /** Counts one; answers `rate-limited` when the flood limit refuses it instead, else null. */
  count(req: PreAdmissionRefusal, now: number): { code: RefusalCode; detail: string; retryAfter: number } | null {
    const taken = take(this.bucket, REFUSAL_RATE, now);
    let answer: { code: RefusalCode; detail: string; retryAfter: number } | null = null;
    let { code, status } = req;
    if (taken.admitted) this.bucket = taken.state;
    else {
      answer = { code: "rate-limited", detail: `Too many refused requests: at most ${REFUSAL_RATE.limit} per second may miss every surface or be invalid.`, retryAfter: taken.retryAfter };
      code = "rate-limited";
      status = 429;
    }
    const id = `${req.surface}\u0000${code}\u0000${status}\u0000${req.catalogVersion}`;
    const pending = this.pending.get(id);
    if (pending) pending.count++;
    else this.pending.set(id, { at: now, surface: req.surface, code, status, catalogVersion: req.catalogVersion, count: 1 });
    return answer;
  }

  /** When they must be written by, or null when none waits. */
  due(now: number): number | null {
    return this.pending.size > 0 ? now + REFUSAL_PERSIST_MS : null;
  }

  /**
   * Those counted since the last write, as one weighted usage event each. They are forgotten only
   * once written: a transaction that fails leaves them counted, for the next write.
   */
  persist(): void {
    if (this.pending.size === 0) return;
    this.storage.transactionSync(() => {
      for (const p of this.pending.values()) {
        recordEvent(this.storage.sql, { at: p.at, requestId: "", surface: p.surface, status: p.status, outcome: "rejected", reason: p.code, weight: p.count, ...(p.catalogVersion !== null && { catalogVersion: p.catalogVersion }) });
      }
    });
    this.pending.clear();
  }
}
