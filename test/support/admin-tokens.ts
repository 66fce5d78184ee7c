// Admin tokens (CONTRACT §9) as the tests create and read them, through the real admin API. The
// answer types come from the route schemas, so the tests and the schemas cannot drift apart.
import type { AdminTokenCreate, AdminTokenSummary, NewAdminToken } from "../../src/admin/tokens";
import { adminOk } from "./http";

export type { AdminTokenSummary, NewAdminToken };

/** Creates an admin token with the root token; answers it with its secret. */
export function createAdminToken(name: string, scopes: AdminTokenCreate["scopes"]): Promise<NewAdminToken> {
  return adminOk<NewAdminToken>("POST", "/tokens", { name, scopes }, 201);
}

export function listAdminTokens(): Promise<AdminTokenSummary[]> {
  return adminOk<AdminTokenSummary[]>("GET", "/tokens");
}
