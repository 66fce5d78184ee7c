// Webhook tests: a receiver at the demo origin (examples/demo-origin.mjs `/_hooks/<name>`), the
// hub's clock under the test's control, and verification with the standardwebhooks package's own
// verifier — not with Tollgate's code, so a signing mistake cannot hide behind a matching one.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { vi } from "vitest";
import type { Clock } from "../../src/clock";
import type { AttemptRecord, WebhookHub } from "../../src/webhooks/hub";
import { adminOk } from "./http";

export interface Received {
  /** What the receiver answered. */
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Receiver {
  name: string;
  /** The URL to register; `fail` makes the first N deliveries get 500. */
  url(fail?: number): string;
  received(): Promise<Received[]>;
}

export function receiver(): Receiver {
  const name = crypto.randomUUID();
  return {
    name,
    url: (fail = 0) => `${env.ORIGIN_URL}/_hooks/${name}${fail > 0 ? `?fail=${fail}` : ""}`,
    async received() {
      const res = await fetch(`${env.ORIGIN_URL}/_hooks/${name}`);
      return res.json<Received[]>();
    },
  };
}

export interface CreatedEndpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  secret: string;
  createdAt: string;
}

/** What `GET /webhooks/:id/deliveries` answers for each attempt: the hub's own record. */
export type AttemptLog = AttemptRecord;

export const createEndpoint = (body: { url: string; events: string[]; description?: string }) => adminOk<CreatedEndpoint>("POST", "/webhooks", body, 201);

/** The attempts to an endpoint, oldest first (the API answers newest first). */
export const attemptsOf = async (id: string) => (await adminOk<AttemptLog[]>("GET", `/webhooks/${id}/deliveries`)).reverse();

export const hub = (): DurableObjectStub<WebhookHub> => env.WEBHOOKS.getByName("hub");

/** Gives the hub `clock` until it is evicted. */
export async function setHubClock(clock: Clock): Promise<void> {
  await runInDurableObject(hub(), (instance: WebhookHub) => {
    instance.clock = clock;
  });
}

/** When the hub's alarm is set for, or null. */
export const hubAlarm = () => runInDurableObject(hub(), (_: WebhookHub, state) => state.storage.getAlarm());

export const runHubAlarm = () => runDurableObjectAlarm(hub());

/**
 * Verifies a received delivery with the standardwebhooks package, as a receiver whose clock reads
 * `nowMs` would (its timestamp check allows 5 minutes either way). Answers the parsed body.
 */
export function verified(secret: string, delivery: Received, nowMs = Date.now()): unknown {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(nowMs);
  try {
    return new Webhook(secret).verify(delivery.body, delivery.headers);
  } finally {
    vi.useRealTimers();
  }
}
