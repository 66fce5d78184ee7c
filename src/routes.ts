// What every route of Tollgate's own API shares (admin and tenant endpoints alike): the problem
// schema for OpenAPI, the error answers spread into each route, JSON body and answer helpers, and
// a router whose validation failures are `invalid-request` problems.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { issuesOf } from "./catalog/schema";
import type { AppEnv } from "./env";
import { problem } from "./problems";

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

export const problemContent = { "application/problem+json": { schema: ProblemSchema } };

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

