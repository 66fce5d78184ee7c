// Holding a request at the demo origin (examples/demo-origin.mjs `?hold=`) until the test lets it
// answer, so "while the first is in flight" needs no guess about how long anything takes.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../../src/app";
import { BASE } from "./http";

export interface OriginHold {
  /** The query parameter that makes the origin wait: `hold=…`. */
  query: string;
  /** Lets every request held under this name answer. */
  release(): Promise<void>;
}

export function originHold(): OriginHold {
  const name = crypto.randomUUID();
  return {
    query: `hold=${name}`,
    async release() {
      const res = await fetch(`${env.ORIGIN_URL}/_origin/release?hold=${name}`, { method: "POST" });
      await res.arrayBuffer();
    },
  };
}

/**
 * Sends through the app with a long origin timeout, so a held request is not cut at the test
 * config's 1 s. Answers once the body is read and the request settled (settlement may wait for
 * the body's end, so the body is read before the execution context is drained).
 */
export async function sendHeld(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp().fetch(new Request(BASE + path, init), { ...env, ORIGIN_TIMEOUT_MS: "60000" }, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}
