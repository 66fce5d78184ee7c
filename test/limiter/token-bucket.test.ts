import { describe, expect, it } from "vitest";
import { refill, take, view, type BucketState } from "../../src/limiter/token-bucket";

const T0 = Date.UTC(2026, 0, 1);

function drain(rate: Parameters<typeof take>[1], n: number, now = T0) {
  let state: BucketState | null = null;
  const admitted: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const r = take(state, rate, now);
    admitted.push(r.admitted);
    state = r.state;
  }
  return { state: state!, admitted };
}

describe("token bucket", () => {
  it("starts full at capacity = limit and refuses the request past it", () => {
    const { admitted } = drain({ limit: 10, window: 1 }, 11);
    expect(admitted.filter(Boolean)).toHaveLength(10);
    expect(admitted[10]).toBe(false);
  });

  it("lets a burst above the steady limit through, then refills at limit/window", () => {
    const rate = { limit: 5, window: 1, burst: 10 };
    const { state, admitted } = drain(rate, 11);
    expect(admitted.filter(Boolean)).toHaveLength(10);
    // 5 tokens per second: after 400 ms two tokens are back.
    const later = refill(state, rate, T0 + 400);
    expect(view(later, rate).remaining).toBe(2);
    expect(take(later, rate, T0 + 400).admitted).toBe(true);
  });

  it("never refills past capacity", () => {
    const rate = { limit: 10, window: 60 };
    const { state } = drain(rate, 3);
    expect(refill(state, rate, T0 + 3_600_000).tokens).toBe(10);
  });

  it("rounds Retry-After up to whole seconds", () => {
    // 1 token per 60 s; empty bucket after 1 s has 1/60 token: 59 s to go.
    const rate = { limit: 1, window: 60 };
    const { state } = drain(rate, 1);
    const refused = take(state, rate, T0 + 1000);
    expect(refused).toMatchObject({ admitted: false, retryAfter: 59 });
    // 3 per 2 s (1.5/s): empty bucket needs 0.667 s → 1 s, never 0.
    const fast = { limit: 3, window: 2 };
    const r = take(drain(fast, 3).state, fast, T0);
    expect(r).toMatchObject({ admitted: false, retryAfter: 1 });
  });

  it("reports reset as the seconds until the bucket is full again", () => {
    const rate = { limit: 10, window: 10 }; // 1 token/s
    const { state } = drain(rate, 4);
    expect(view(state, rate)).toEqual({ limit: 10, remaining: 6, reset: 4 });
    expect(view(refill(state, rate, T0 + 1500), rate)).toEqual({ limit: 10, remaining: 7, reset: 3 });
  });

  it("ignores a clock that goes backwards", () => {
    const rate = { limit: 2, window: 1 };
    const { state } = drain(rate, 2);
    expect(refill(state, rate, T0 - 5000).tokens).toBe(0);
  });
});
