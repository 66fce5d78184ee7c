// Token bucket of CONTRACT §2 Rate: capacity `burst` (default `limit`), refilled continuously at
// `limit / window` tokens per second, one token per request. Pure: the clock is an argument.
import type { Rate } from "../catalog/schema";

export interface BucketState {
  tokens: number;
  updatedAt: number; // ms
}

export interface BucketView {
  limit: number; // capacity
  remaining: number; // whole tokens left
  reset: number; // seconds until the bucket is full again
}

const EPSILON = 1e-9;

export const capacityOf = (rate: Rate) => rate.burst ?? rate.limit;
const perSecond = (rate: Rate) => rate.limit / rate.window;

export function refill(state: BucketState | null, rate: Rate, now: number): BucketState {
  const capacity = capacityOf(rate);
  if (!state) return { tokens: capacity, updatedAt: now };
  const elapsed = Math.max(0, now - state.updatedAt) / 1000;
  return { tokens: Math.min(capacity, state.tokens + elapsed * perSecond(rate)), updatedAt: Math.max(now, state.updatedAt) };
}

export function view(state: BucketState, rate: Rate): BucketView {
  const capacity = capacityOf(rate);
  return {
    limit: capacity,
    remaining: Math.floor(state.tokens + EPSILON),
    reset: Math.max(0, Math.ceil((capacity - state.tokens) / perSecond(rate) - EPSILON)),
  };
}

/** Whole seconds until one token is available (0 when one already is), rounded up. */
export function retryAfter(state: BucketState, rate: Rate): number {
  if (state.tokens + EPSILON >= 1) return 0;
  return Math.max(1, Math.ceil((1 - state.tokens) / perSecond(rate) - EPSILON));
}

export type TakeResult = { admitted: true; state: BucketState } | { admitted: false; state: BucketState; retryAfter: number };

export function take(previous: BucketState | null, rate: Rate, now: number): TakeResult {
  const state = refill(previous, rate, now);
  if (state.tokens + EPSILON < 1) return { admitted: false, state, retryAfter: retryAfter(state, rate) };
  return { admitted: true, state: { tokens: Math.max(0, state.tokens - 1), updatedAt: state.updatedAt } };
}
