// Admin API calls from Node tests, against the e2e gateway.
import type { E2EGateway } from "./gateway-setup";

export async function adminCall<T = unknown>(gw: E2EGateway, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${gw.url}/_tollgate/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${gw.adminToken}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

/** A tenant id no other test of the run uses (the gateway's state is shared by the e2e files). */
export const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
