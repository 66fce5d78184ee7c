// What every admin route shares: the problem schema for OpenAPI, the validation hook that turns
// zod issues into `invalid-request`, and the admin bearer-token check.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { issuesOf } from "../catalog/schema";
import { timingSafeEqualStrings } from "../crypto";
import type { AppEnv } from "../env";
import { problem } from "../problems";
import { ADMIN_ACTOR, recordAudit, type AuditEntry } from "../audit/log";
import type { Context } from "hono";

/** Records an admin mutation that has just succeeded. */
export function audit(c: Context<AppEnv>, entry: Omit<AuditEntry, "actor">): Promise<void> {
  return recordAudit(c.env.DB, c.get("clock"), { actor: ADMIN_ACTOR, ...entry });
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:tollgate:problem:invalid-request" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    surface: z.string().optional(),
    retryAfter: z.number().int().optional(),
    "violated-policies": z.array(z.string()).optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

const problemContent = { "application/problem+json": { schema: ProblemSchema } };

/** The error answers every route may give, spread into each route's `responses`. */
export const problemResponses = {
  400: { description: "invalid-request", content: problemContent },
  401: { description: "unauthenticated", content: problemContent },
  404: { description: "not-found", content: problemContent },
} as const;

export const conflictResponse = { 409: { description: "conflict", content: problemContent } } as const;

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const jsonAnswer = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A router whose validation failures are `invalid-request` problems listing every issue. */
export function router(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw problem("invalid-request", { detail: "The request does not match the schema.", errors: issuesOf(result.error) });
      }
    },
  });
}

export const adminAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
  const token = c.env.ADMIN_TOKEN;
  if (!match || !token || !(await timingSafeEqualStrings(match[1]!, token))) {
    throw problem("unauthenticated", { detail: "The admin API needs `Authorization: Bearer <ADMIN_TOKEN>`." });
  }
  await next();
};
