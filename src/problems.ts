// RFC 9457 problem details with the closed set of codes of CONTRACT §4. Handlers throw
// `problem(code, …)`; `renderProblem` is the only place that turns one into a response.

export const problemStatus = {
  unauthenticated: 401,
  "key-revoked": 401,
  "tenant-suspended": 403,
  "no-surface": 404,
  "surface-prohibited": 403,
  "premium-required": 403,
  "rate-limited": 429,
  "quota-exhausted": 429,
  "concurrency-limited": 429,
  "idempotency-key-in-use": 409,
  "idempotency-key-reused": 422,
  "invalid-request": 400,
  "payload-too-large": 413,
  "not-found": 404,
  conflict: 409,
  "origin-unavailable": 502,
  "origin-timeout": 504,
  "limiter-unavailable": 503,
  // Added to CONTRACT §4: a bug in Tollgate itself.
  "internal-error": 500,
  // CONTRACT §9: an admin token without the scope the request needs.
  forbidden: 403,
  // CONTRACT §9: safe changes.
  "precondition-failed": 412,
  "catalog-strands-tenants": 409,
  // Partners (calls on behalf of customers).
  "grant-required": 403,
  "delegation-required": 403,
  "delegation-forbidden": 403,
  // Issue 12: a surface past its sunsetAt.
  "surface-sunset": 410,
} as const;

export type ProblemCode = keyof typeof problemStatus;

export const problemTitles: Record<ProblemCode, string> = {
  unauthenticated: "Authentication required",
  "key-revoked": "API key revoked or expired",
  "tenant-suspended": "Tenant suspended",
  "no-surface": "No integration surface matches this request",
  "surface-prohibited": "Surface not available on this plan",
  "premium-required": "Premium add-on required",
  "rate-limited": "Rate limit exceeded",
  "quota-exhausted": "Quota exhausted",
  "concurrency-limited": "Too many requests in flight",
  "idempotency-key-in-use": "Idempotency key in use",
  "idempotency-key-reused": "Idempotency key reused with a different request",
  "invalid-request": "Invalid request",
  "payload-too-large": "Payload too large",
  "not-found": "Not found",
  conflict: "Conflict",
  "origin-unavailable": "Origin unavailable",
  "origin-timeout": "Origin timed out",
  "limiter-unavailable": "Limiter unavailable",
  "internal-error": "Internal error",
  forbidden: "Forbidden for this admin token",
  "precondition-failed": "The resource changed since it was read",
  "catalog-strands-tenants": "The catalog would strand tenants",
  "grant-required": "No active grant covers this call",
  "delegation-required": "Only partners on behalf of a customer may call this surface",
  "delegation-forbidden": "Partners may not call this surface on behalf of a customer",
  "surface-sunset": "This surface has been retired",
};

export interface ValidationIssue {
  path: string;
  message: string;
}

export interface ProblemOptions {
  detail?: string;
  surface?: string;
  retryAfter?: number;
  violatedPolicies?: string[];
  errors?: ValidationIssue[];
  headers?: HeadersInit;
  /** Extension members of the problem (RFC 9457 §3.2), e.g. `stranded` of catalog-strands-tenants. */
  extensions?: Record<string, unknown>;
}

export class Problem extends Error {
  readonly status: number;
  readonly headers: Headers;
  constructor(
    readonly code: ProblemCode,
    readonly options: ProblemOptions = {},
  ) {
    super(options.detail ?? problemTitles[code]);
    this.name = "Problem";
    this.status = problemStatus[code];
    this.headers = new Headers(options.headers);
  }
}

export function problem(code: ProblemCode, options: ProblemOptions = {}): Problem {
  return new Problem(code, options);
}

export function isProblemCode(value: string): value is ProblemCode {
  return Object.hasOwn(problemStatus, value);
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  surface?: string;
  retryAfter?: number;
  "violated-policies"?: string[];
  errors?: ValidationIssue[];
  [extension: string]: unknown;
}

export function problemBody(p: Problem): ProblemBody {
  const { detail, surface, retryAfter, violatedPolicies, errors, extensions } = p.options;
  return {
    ...extensions,
    type: `urn:tollgate:problem:${p.code}`,
    title: problemTitles[p.code],
    status: p.status,
    detail: detail ?? problemTitles[p.code],
    ...(surface !== undefined && { surface }),
    ...(retryAfter !== undefined && { retryAfter }),
    ...(violatedPolicies !== undefined && { "violated-policies": violatedPolicies }),
    ...(errors !== undefined && { errors }),
  };
}

export function renderProblem(p: Problem): Response {
  const headers = new Headers(p.headers);
  headers.set("Content-Type", "application/problem+json");
  if (p.code === "unauthenticated") headers.set("WWW-Authenticate", 'Bearer realm="tollgate"');
  if ((p.status === 429 || p.status === 503) && p.options.retryAfter !== undefined) {
    headers.set("Retry-After", String(p.options.retryAfter));
  }
  return new Response(JSON.stringify(problemBody(p)), { status: p.status, headers });
}
