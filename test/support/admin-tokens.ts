// Admin tokens (CONTRACT §9) as the tests create and read them, through the real admin API.
import { adminOk } from "./http";

export interface NewAdminToken {
  id: string;
  token: string;
  name: string;
  scopes: string[];
  prefix: string;
  createdAt: string;
}

export interface AdminTokenSummary {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

/** Creates an admin token with the root token; answers it with its secret. */
export function createAdminToken(name: string, scopes: string[]): Promise<NewAdminToken> {
  return adminOk<NewAdminToken>("POST", "/tokens", { name, scopes }, 201);
}

export function listAdminTokens(): Promise<AdminTokenSummary[]> {
  return adminOk<AdminTokenSummary[]>("GET", "/tokens");
}
