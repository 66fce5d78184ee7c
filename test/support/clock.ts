// Time under the test's control (STYLE: time is injected): the app's clock through
// createApp({ clock }), and a tenant limiter's through its public `clock` field.
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../../src/app";
import type { Clock } from "../../src/clock";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
import { BASE } from "./http";

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  constructor(private ms: number) {}
  now(): number {
    return this.ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * Sends through an app whose clock is `clock`, with the real bindings. The answer comes back at
 * once: work left to `waitUntil` (a streamed body's settlement) finishes once the body is read.
 */
export async function sendAt(clock: Clock, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp({ clock }).fetch(new Request(BASE + path, init), env, ctx);
  void waitOnExecutionContext(ctx).catch((error: unknown) => console.error("waitUntil failed", error));
  return res;
}

/** Gives the tenant's limiter `clock` until it is evicted. */
export async function setLimiterClock(tenant: string, clock: Clock): Promise<void> {
  const stub = (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(tenant);
  await runInDurableObject(stub, (instance: TenantLimiter) => {
    instance.clock = clock;
  });
}
