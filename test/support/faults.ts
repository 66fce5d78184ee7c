// Runs the app with one binding or variable changed: a closed origin port, a short timeout, or a
// limiter that fails. The other bindings stay the real ones.
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../../src/app";
import type { TenantLimiter } from "../../src/limiter/tenant-limiter";
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

/**
 * A LIMITER namespace whose objects fail every call, as an unreachable Durable Object would: at
 * once, or `delayMs` later (so that other requests arrive meanwhile). `asked` records the methods called.
 */
export function unreachableLimiter(delayMs = 0, asked: string[] = []): Env["LIMITER"] {
  const failure = () => new Error("Durable Object reset because its code was updated.");
  return {
    getByName: () =>
      new Proxy({}, {
        get: (_, method) => () => {
          asked.push(String(method));
          return delayMs === 0 ? Promise.reject(failure()) : new Promise((_, reject) => setTimeout(() => reject(failure()), delayMs));
        },
      }),
  } as unknown as Env["LIMITER"];
}

export const failingLimiter = unreachableLimiter();

const limiterStub = (tenant: string) => (env.LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(tenant);

/**
 * Makes the usage event inserts of `tenant`'s limiter fail (an admission's transaction with
 * them), until the returned `repair`: every insert, or only those of `surface`'s events. The
 * limiter's alarm is cancelled first, so that it cannot fire in the broken window (it would fail
 * there, as it should, but as an error outside the test); tests flush explicitly instead.
 */
export async function breakUsageLog(tenant: string, surface?: string): Promise<() => Promise<void>> {
  if (surface !== undefined && !/^[a-z0-9._-]+$/i.test(surface)) throw new Error(`not a surface name: ${surface}`);
  await runInDurableObject(limiterStub(tenant), async (_: TenantLimiter, state) => {
    await state.storage.deleteAlarm();
    if (surface === undefined) state.storage.sql.exec("ALTER TABLE usage_events RENAME TO usage_events_away");
    else state.storage.sql.exec(`CREATE TRIGGER usage_log_broken BEFORE INSERT ON usage_events WHEN NEW.surface = '${surface}' BEGIN SELECT RAISE(ABORT, 'usage log broken'); END`);
  });
  return () =>
    runInDurableObject(limiterStub(tenant), (_: TenantLimiter, state) => {
      state.storage.sql.exec(surface === undefined ? "ALTER TABLE usage_events_away RENAME TO usage_events" : "DROP TRIGGER usage_log_broken");
    });
}
