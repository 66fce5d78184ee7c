// One delivery attempt (Standard Webhooks): the stored payload, signed for this attempt's time
// with the endpoint's secret, POSTed with a timeout. Never throws: a network error or a timeout is
// an outcome like a 500, and the hub schedules the retry.
import { Webhook } from "standardwebhooks";

/** An endpoint that has not answered by then is treated as failed (and retried). */
export const DELIVERY_TIMEOUT_MS = 10_000;

export interface Attempt {
  /** The endpoint's HTTP status, or null when it gave none (network error, timeout). */
  status: number | null;
  error: string | null;
  durationMs: number;
  ok: boolean;
}

/** The Standard Webhooks headers of a delivery made at `at` (ms). */
export function signedHeaders(secret: string, msgId: string, at: number, payload: string): Record<string, string> {
  const timestamp = new Date(Math.floor(at / 1000) * 1000);
  return {
    "content-type": "application/json",
    "user-agent": "Tollgate-Webhooks/1",
    "webhook-id": msgId,
    "webhook-timestamp": String(timestamp.getTime() / 1000),
    "webhook-signature": new Webhook(secret).sign(msgId, timestamp, payload),
  };
}

export async function attemptDelivery(url: string, secret: string, msgId: string, at: number, payload: string): Promise<Attempt> {
  const started = Date.now(); // wall time for the duration; `at` may come from a test's clock
  // A timer cleared once the answer is in (AbortSignal.timeout's timer would outlive the attempt
  // and keep the object busy for the full 10 s).
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), DELIVERY_TIMEOUT_MS);
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: signedHeaders(secret, msgId, at, payload),
      body: payload,
      redirect: "manual", // a redirect is not an acceptance: it is retried like any other non-2xx
      signal: controller.signal,
    });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 300;
    return { status: res.status, error: null, durationMs: Date.now() - started, ok };
  } catch (error) {
    const message = controller.signal.aborted ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : error instanceof Error ? error.message : String(error);
    return { status: null, error: message.slice(0, 500), durationMs: Date.now() - started, ok: false };
  } finally {
    clearTimeout(timer);
  }
}
