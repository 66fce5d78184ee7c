// Calls into the Worker under test through its real default export, with real bindings.
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { CatalogInput } from "../../src/catalog/schema";

export const BASE = "http://tollgate.test";

export async function send(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(BASE + path, init));
}

export async function admin(method: string, path: string, body?: unknown, token = env.ADMIN_TOKEN): Promise<Response> {
  return send(`/_tollgate/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body !== undefined && { "Content-Type": "application/json" }) },
    ...(body !== undefined && { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
}

/** An admin call that must succeed with `status`; answers the parsed JSON (or null). */
export async function adminOk<T = unknown>(method: string, path: string, body?: unknown, status = 200): Promise<T> {
  const res = await admin(method, path, body);
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return (text ? JSON.parse(text) : null) as T;
}

export async function call(key: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization") && !headers.has("x-api-key")) headers.set("Authorization", `Bearer ${key}`);
  return send(path, { ...init, headers });
}

/** PUTs a catalog; `force` when the test means to strand the tenants an earlier catalog served (CONTRACT §9). */
export async function loadCatalog(catalog: CatalogInput, options: { force?: boolean } = {}): Promise<number> {
  return (await adminOk<{ version: number }>("PUT", `/catalog${options.force ? "?force=true" : ""}`, catalog)).version;
}

export interface TenantSpec {
  id: string;
  plan: string;
  kind?: "customer" | "partner";
  addons?: string[];
  overrides?: Record<string, unknown>;
  status?: "active" | "suspended";
}

/** Creates a tenant and one key; answers the key. */
export async function tenantWithKey(spec: TenantSpec): Promise<{ key: string; keyId: string }> {
  await adminOk("POST", "/tenants", { kind: "customer", ...spec }, 201);
  const created = await adminOk<{ id: string; key: string }>("POST", `/tenants/${spec.id}/keys`, {}, 201);
  return { key: created.key, keyId: created.id };
}

export async function problemOf(res: Response): Promise<{ type: string; status: number; title: string; detail: string; [k: string]: unknown }> {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return res.json();
}

/** Asserts the response is the problem `code` with `status`. */
export async function expectProblem(res: Response, status: number, code: string) {
  const body = await problemOf(res);
  expect({ status: res.status, type: body.type }).toEqual({ status, type: `urn:tollgate:problem:${code}` });
  expect(body.status).toBe(status);
  return body;
}
