// Standard Webhooks' retry schedule as a pure function: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h…,
// for 24 h after the first attempt, the last attempt at exactly 24 h.
import { describe, expect, it } from "vitest";
import { nextAttemptAt, RETRY_WINDOW_MS } from "../../src/webhooks/backoff";

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe("nextAttemptAt", () => {
  it("follows the schedule from the first attempt to the end of the window", () => {
    const first = 1_000_000;
    const times = [first];
    for (let attempts = 1; ; attempts++) {
      const next = nextAttemptAt(first, times.at(-1)!, attempts);
      if (next === null) break;
      times.push(next);
    }
    expect(times.map((t) => t - first)).toEqual([0, 5 * S, 5 * M + 5 * S, 35 * M + 5 * S, 2 * H + 35 * M + 5 * S, 7 * H + 35 * M + 5 * S, 17 * H + 35 * M + 5 * S, 24 * H]);
  });

  it("waits 10 h between late attempts, and never past the window", () => {
    expect(nextAttemptAt(0, 1 * H, 7)).toBe(11 * H);
    expect(nextAttemptAt(0, 1 * H, 20)).toBe(11 * H);
    expect(nextAttemptAt(0, 20 * H, 7)).toBe(RETRY_WINDOW_MS);
    expect(nextAttemptAt(0, RETRY_WINDOW_MS - 1, 3)).toBe(RETRY_WINDOW_MS);
    expect(nextAttemptAt(0, RETRY_WINDOW_MS, 3)).toBeNull();
  });
});
