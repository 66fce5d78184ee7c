// Seeded randomness: every number a run draws comes from streams named after what they model, so
// two runs that differ only in lease size see the very same arrivals (common random numbers).

/** 32-bit hash of a string (FNV-1a), to seed a stream from a name. */
function seedOf(name) {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small, fast, well-mixed 32-bit generator; uniform in [0, 1). */
export function randomStream(name) {
  let a = seedOf(name);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An exponential draw with this mean (the gap between Poisson arrivals). */
export const exponential = (random, mean) => -Math.log(1 - random()) * mean;
