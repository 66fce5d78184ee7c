// Grants (CONTRACT §7) as the admin API and the tenant API accept and answer them.
import { z } from "@hono/zod-openapi";
import { TenantId } from "../tenants/schema";

/** A revenue share: a decimal fraction in [0, 1] with at most 6 decimals (so it is exact in parts per million). */
export const Share = z
  .string()
  .regex(/^(0(\.\d{1,6})?|1(\.0{1,6})?)$/, 'must be a decimal fraction from "0" to "1" with at most 6 decimals, e.g. "0.2"')
  .openapi({ example: "0.2" });

/** The share in parts per million: "0.2" → 200000. */
export function sharePpm(share: string | null | undefined): number {
  if (!share) return 0;
  const [whole = "0", fraction = ""] = share.split(".");
  return Number(whole) * 1_000_000 + Number(fraction.padEnd(6, "0"));
}

export const GrantSurfaces = z
  .union([z.literal("*"), z.array(z.string().min(1).max(64)).min(1).max(1000)])
  .openapi({ description: 'the surfaces the partner may call for the customer, or "*" for all', example: ["events.feed"] });

export const Payer = z.enum(["customer", "partner"]);
export const GrantStatus = z.enum(["pending", "active", "rejected", "revoked"]);

export const GrantCreate = z
  .strictObject({
    partner: TenantId,
    customer: TenantId,
    surfaces: GrantSurfaces,
    payer: Payer,
    share: Share.optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional().openapi({ example: "2027-01-01T00:00:00Z" }),
  })
  .openapi("GrantCreate");
export type GrantCreate = z.infer<typeof GrantCreate>;

/** A partner asks, with its own key; a partner never sets its own share. */
export const GrantRequest = z
  .strictObject({
    customer: TenantId,
    surfaces: GrantSurfaces,
    payer: Payer,
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .openapi("GrantRequest");
export type GrantRequest = z.infer<typeof GrantRequest>;

/** PATCH /grants/:id: a JSON merge patch (RFC 7396) of these members. */
export const GrantPatch = z
  .strictObject({
    surfaces: GrantSurfaces.optional(),
    payer: Payer.optional(),
    share: Share.nullable().optional(),
    expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
    status: z.enum(["active", "rejected", "revoked"]).optional().openapi({ description: '"active" approves a pending grant' }),
  })
  .openapi("GrantPatch");
export type GrantPatch = z.infer<typeof GrantPatch>;

export const Grant = z
  .object({
    id: z.string(),
    partner: z.string(),
    customer: z.string(),
    surfaces: GrantSurfaces,
    payer: Payer,
    share: z.string().nullable(),
    status: GrantStatus,
    expiresAt: z.string().nullable(),
    requestedBy: z.enum(["admin", "partner"]),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Grant");
export type Grant = z.infer<typeof Grant>;
