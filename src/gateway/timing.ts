// Server-Timing on forwarded responses (CONTRACT §6): what the gateway itself costs a request —
// tg-auth (the key), tg-admit (the limiter's one blocking call), tg-origin (the origin's
// response headers), tg-total. SERVER_TIMING=off drops it.

export interface Stopwatch {
  start: number; // performance.now() when the request arrived
  marks: Partial<Record<"auth" | "admit" | "origin", number>>; // ms
}

const ms = (value: number) => Math.round(value * 10) / 10;

/** The Server-Timing value of what the stopwatch marked, up to now. */
export function serverTiming(watch: Stopwatch): string {
  const parts = (["auth", "admit", "origin"] as const)
    .filter((name) => watch.marks[name] !== undefined)
    .map((name) => `tg-${name};dur=${ms(watch.marks[name]!)}`);
  parts.push(`tg-total;dur=${ms(performance.now() - watch.start)}`);
  return parts.join(", ");
}
