// Runs the app with one binding or variable changed: a closed origin port, a short timeout, or a
// limiter that fails. The other bindings stay the real ones.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../../src/app";
import { BASE } from "./http";

/**
 * The answer comes back at once: work the app left to `waitUntil` (e.g. the settlement of a
 * streamed body) finishes once the caller has read the body, as in the runtime.
 */
export async function sendWith(overrides: Partial<Env>, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp().fetch(new Request(BASE + path, init), { ...env, ...overrides }, ctx);
  void waitOnExecutionContext(ctx).catch((error: unknown) => console.error("waitUntil failed", error));
  return res;
}

/** A LIMITER namespace whose objects throw on every call, as an unreachable Durable Object would. */
export const failingLimiter = {
  getByName: () =>
    new Proxy({}, { get: () => () => Promise.reject(new Error("Durable Object reset because its code was updated.")) }),
} as unknown as Env["LIMITER"];
