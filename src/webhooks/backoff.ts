// When a failed delivery is tried again (Standard Webhooks' retry schedule), as pure functions of
// the attempt times, so the schedule is tested without waiting for it.

/** The waits after the 1st, 2nd, … failed attempt; the last one repeats. */
export const RETRY_WAITS_MS = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000] as const;
/** A delivery is retried for this long after its first attempt, then it is `failed`. */
export const RETRY_WINDOW_MS = 24 * 3_600_000;

/**
 * The time of the next attempt after the `attempts`-th failed one (made at `at`), or null when the
 * delivery has failed for good. The last attempt falls exactly at the end of the window: a receiver
 * that is down for 23 hours still gets the event.
 */
export function nextAttemptAt(firstAt: number, at: number, attempts: number): number | null {
  const deadline = firstAt + RETRY_WINDOW_MS;
  if (at >= deadline) return null;
  const wait = RETRY_WAITS_MS[Math.min(attempts, RETRY_WAITS_MS.length) - 1] ?? RETRY_WAITS_MS[0];
  return Math.min(at + wait, deadline);
}
