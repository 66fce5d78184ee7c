// POST /_tollgate/quote (CONTRACT §5): what a described request would get now — admission and,
// for request-counted meters, its exact charge — by the same steps as a real request
// (authenticate, classify, meter, the limiter's evaluation, pricing) without side effects.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { CatalogStore } from "../catalog/store";
import type { AppEnv } from "../env";
import { refusalProblem } from "../gateway/admit";
import { limiterOf } from "../limiter/stub";
import { authenticate } from "../gateway/authenticate";
import { describeRequest } from "../gateway/describe";
import type { QuoteResult } from "../limiter/tenant-limiter";
import { formatMoney } from "../pricing/money";
import { Problem, problem, problemBody } from "../problems";
import { jsonAnswer, jsonBody, problemResponses, ProblemSchema, router } from "../routes";

export const QuoteRequestSchema = z
  .strictObject({
    method: z.string().regex(/^[A-Za-z]+$/, "an HTTP method").transform((m) => m.toUpperCase()),
    path: z.string().regex(/^\/\S*$/, "a path starting with /, optionally with a query"),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.unknown().optional().openapi({ description: "a JSON value, or a string sent as is" }),
    onBehalfOf: z.string().min(1).max(64).optional().openapi({ description: "a partner's quote of a call on behalf of this customer (as Tollgate-On-Behalf-Of)" }),
  })
  .openapi("QuoteRequest");

export const QuoteAnswer = z
  .object({
    allowed: z.boolean(),
    surface: z.string().nullable(),
    rule: z.string().nullable(),
    units: z.number().int().nullable().openapi({ description: "null when only the response can tell (response-header, response-bytes)" }),
    cost: z.string().nullable(),
    incentives: z.array(z.string()),
    unit: z.string().optional(),
    replay: z.boolean().optional(),
    unitPrice: z.string().optional().openapi({ description: "when the units are not known before the answer (response-measured or reported): the price of one unit under the paying plan" }),
    payer: z.string().nullable().optional().openapi({ description: "the tenant that would pay: the caller, its customer, or (a grant with payer \"partner\") the partner" }),
    shadow: z.array(z.string()).optional().openapi({ description: "under a shadow rule (enforce: shadow), the limits that would refuse the request if they were enforced: it is allowed, and its answer would carry Tollgate-Shadow" }),
    problem: ProblemSchema.optional(),
  })
  .openapi("Quote");
export type QuoteAnswer = z.infer<typeof QuoteAnswer>;

const quoteRoute = createRoute({
  operationId: "quote",
  method: "post",
  path: "/quote",
  summary: "Predict admission and cost of a request before making it; no side effects",
  security: [{ apiKey: [] }],
  request: { body: jsonBody(QuoteRequestSchema) },
  responses: { 200: jsonAnswer(QuoteAnswer, "the quote"), ...problemResponses },
});

const bodyBytes = (body: unknown): ArrayBuffer | null => {
  if (body === undefined) return null;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new TextEncoder().encode(text).buffer as ArrayBuffer;
};

async function quote(c: Context<AppEnv>, described: z.infer<typeof QuoteRequestSchema>): Promise<QuoteAnswer> {
  const principal = c.get("principal");
  const url = new URL(described.path, "http://quote.invalid");
  const headers = new Headers(described.headers);
  const delegated = described.onBehalfOf !== undefined;
  // A delegated quote asks the customer's limiter, exactly as the delegated call would (CONTRACT §7).
  const limiter = limiterOf(c.env, described.onBehalfOf ?? principal.tenantId);
  let surface: string | null = null;
  let rule: string | null = null;
  let payer: string | null = delegated ? null : principal.tenantId;
  try {
    const snapshot = await new CatalogStore(c.env.DB, c.env.CACHE, c.get("clock")).current();
    // Described exactly as the request path describes a request (src/gateway/describe.ts).
    const request = await describeRequest(snapshot, { method: described.method, url, headers }, async () => bodyBytes(described.body), (s) => (surface = s));
    const result: QuoteResult = await limiter.quote({
      keyId: principal.keyId,
      ...(delegated && { actor: principal.tenantId }),
      surface: request.surface,
      terms: request.terms,
      units: request.units,
      // The conditional incentive depends on the origin answering 304: it cannot be quoted.
      signals: { idempotencyKey: request.keyIncentive, notModified: false },
      ...(request.claim && { idempotency: request.claim }),
    });
    rule = result.policy?.rule ?? null;
    if (result.payer !== undefined) payer = result.payer;
    if (result.kind === "refused") throw refusalProblem(result, request.surface);
    const unit = result.policy.meter.unit;
    if (result.kind === "replay") return { allowed: true, surface, rule, units: 0, cost: "0", incentives: [], unit, replay: true, payer };
    const shadow = result.shadow ? { shadow: result.shadow } : {};
    if (!result.charge) {
      const unitPrice = result.policy.rule === "included" ? "0" : (result.policy.price?.unit ?? "0");
      return { allowed: true, surface, rule, units: null, cost: null, incentives: [], unit, unitPrice, payer, ...shadow };
    }
    return { allowed: true, surface, rule, units: result.charge.units, cost: formatMoney(result.charge.cost), incentives: result.charge.incentives, unit, payer, ...shadow };
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    // A revoked or suspended caller is told that, whatever it asked about (as on the request path).
    const denied = error.code === "no-surface" || error.code === "invalid-request" ? await limiterOf(c.env, principal.tenantId).checkKey(principal.keyId) : null;
    const p = denied ? problem(denied.code, { detail: denied.detail }) : error;
    if (denied) surface = null;
    return { allowed: false, surface, rule, units: 0, cost: "0", incentives: [], payer, problem: problemBody(p) };
  }
}

/** Tenant endpoints know their caller before they read its input. */
export const tenantAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("principal", await authenticate(c.env, c.req.raw.headers));
  await next();
};

/**
 * The caller's key and tenant as the request path checks them: by its own limiter (revoked,
 * expired, suspended). Tenant endpoints that act or read call this before anything else.
 */
export async function checkedCaller(c: Context<AppEnv>): Promise<string> {
  const { tenantId, keyId } = c.get("principal");
  const denied = await limiterOf(c.env, tenantId).checkKey(keyId);
  if (denied) throw problem(denied.code, { detail: denied.detail });
  return tenantId;
}

/** A described request is small: its body is limited like the admin API's (issue 8, row 7). */
export const QUOTE_BODY_LIMIT = 1024 * 1024;

const quoteRouter = router();
quoteRouter.use("/quote", tenantAuth);
quoteRouter.use(
  "/quote",
  bodyLimit({
    maxSize: QUOTE_BODY_LIMIT,
    onError: () => {
      throw problem("payload-too-large", { detail: `Quote request bodies are limited to ${QUOTE_BODY_LIMIT} bytes.` });
    },
  }),
);

export const quoteRoutes = quoteRouter.openapi(quoteRoute, async (c) => {
  let answer: QuoteAnswer;
  try {
    answer = await quote(c, c.req.valid("json"));
  } catch (error) {
    if (error instanceof Problem) throw error;
    console.error("limiter failed during a quote", error);
    throw problem("limiter-unavailable", { detail: "The rate limiter could not answer; try again shortly.", retryAfter: 1 });
  }
  return c.json(answer, 200);
});
