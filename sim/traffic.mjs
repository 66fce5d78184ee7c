// Traffic shapes: when the next request arrives (Poisson, ms) and at which isolate. Arrivals are
// drawn from their own stream, seeded by shape, rate, length and isolate count only.
import { exponential, randomStream } from "./random.mjs";

/**
 * @param {{kind: "steady" | "bursty" | "skewed", perSecond: number, onMs?: number, offMs?: number, hotShare?: number}} shape
 *   steady: Poisson at perSecond, isolates uniform. bursty: on/off, Poisson at perSecond × (on+off)/on
 *   during each onMs, nothing during offMs (same mean). skewed: isolate 0 gets hotShare of requests.
 */
export function arrivals(shape, durationMs, isolates, seed) {
  const random = randomStream(`arrivals:${seed}`);
  const pick = randomStream(`isolates:${seed}`);
  const bursty = shape.kind === "bursty";
  const onMs = bursty ? shape.onMs : 1;
  const cycleMs = bursty ? shape.onMs + shape.offMs : 1;
  const perMs = (shape.perSecond / 1000) * (bursty ? cycleMs / onMs : 1);
  let onTime = 0; // time spent "on" so far: gaps are drawn in it, then mapped to the clock
  const isolateOf = shape.kind === "skewed" && isolates > 1
    ? () => (pick() < shape.hotShare ? 0 : 1 + Math.floor(pick() * (isolates - 1)))
    : () => Math.floor(pick() * isolates);
  return {
    /** The next arrival's time, or null once the run's traffic is over. */
    next() {
      onTime += exponential(random, 1 / perMs);
      const at = bursty ? Math.floor(onTime / onMs) * cycleMs + (onTime % onMs) : onTime;
      return at < durationMs ? at : null;
    },
    isolateOf,
  };
}
