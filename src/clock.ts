// Time is injected so bucket, period and lease maths can be tested with a fake clock.
export interface Clock {
  now(): number; // milliseconds since the Unix epoch
}

export const systemClock: Clock = { now: () => Date.now() };
