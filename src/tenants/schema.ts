// Tenants as the admin API accepts and answers them (CONTRACT §5).
import { z } from "@hono/zod-openapi";
import { Concurrency, Price, Quota, Rate } from "../catalog/schema";

export const TenantId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "tenant ids are 1–64 of A-Z a-z 0-9 . _ -")
  .openapi({ example: "acme" });

export const SurfaceOverride = z.strictObject({
  rate: Rate.optional(),
  quota: Quota.optional(),
  price: Price.optional(),
  concurrency: Concurrency.optional(),
});

export const TenantStatus = z.enum(["active", "suspended"]);

export const Billing = z.strictObject({ stripeCustomerId: z.string().min(1).max(255).optional() });

export const TenantCreate = z
  .strictObject({
    id: TenantId,
    name: z.string().max(200).optional(),
    kind: z.enum(["customer", "partner"]),
    plan: z.string().min(1),
    addons: z.array(z.string()).default([]),
    overrides: z.record(z.string(), SurfaceOverride).default({}),
    status: TenantStatus.default("active"),
    billing: Billing.optional(),
  })
  .openapi("TenantCreate");
export type TenantCreate = z.infer<typeof TenantCreate>;

/**
 * PATCH /tenants/:id is a JSON merge patch (RFC 7396, CONTRACT §9): members merge, `null` removes.
 * `overrides` merge per surface and per field (`{"overrides": {"s": {"quota": null}}}` removes one
 * field; `{"overrides": {"s": null}}` all of a surface's). The patch is checked for its shape here;
 * the tenant it produces is checked in full by `TenantTerms`.
 */
const Members = z.record(z.string(), z.unknown());
export const TenantPatch = z
  .strictObject({
    name: z.string().max(200).nullable().optional(),
    plan: z.string().min(1).optional(),
    addons: z.array(z.string()).optional(),
    overrides: z.record(z.string(), Members.nullable()).nullable().optional(),
    status: TenantStatus.optional(),
    billing: Members.nullable().optional(),
  })
  .openapi("TenantPatch", { description: "A JSON merge patch (RFC 7396) of the tenant's name, plan, addons, overrides, status and billing." });
export type TenantPatch = z.infer<typeof TenantPatch>;

/** What a merge patch may change, as the tenant must be after it. */
export const TenantTerms = z.strictObject({
  name: z.string().max(200).nullable(),
  plan: z.string().min(1),
  addons: z.array(z.string()),
  overrides: z.record(z.string(), SurfaceOverride),
  status: TenantStatus,
  billing: Billing.nullable(),
});
export type TenantTerms = z.infer<typeof TenantTerms>;

export const Tenant = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    kind: z.enum(["customer", "partner"]),
    plan: z.string(),
    addons: z.array(z.string()),
    overrides: z.record(z.string(), SurfaceOverride),
    status: TenantStatus,
    billing: Billing.nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Tenant");
export type Tenant = z.infer<typeof Tenant>;
