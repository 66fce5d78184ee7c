// STAND-IN until main's src/partners/schema.ts is merged: the grant shapes of
// /work/briefs/partners-api.md, only so the CLI builds meanwhile. After `git merge main`, every
// import of this file becomes an import of src/partners/schema.ts and this file is deleted.
import { z } from "@hono/zod-openapi";
import { isMoney, parseMoneyExact } from "../src/pricing/money";
import { TenantId } from "../src/tenants/schema";

export const Share = z
  .string()
  .refine((s) => isMoney(s) && parseMoneyExact(s) <= 1_000_000n, 'must be a decimal fraction in [0, 1], e.g. "0.2"');
export const GrantSurfaces = z.union([z.literal("*"), z.array(z.string().min(1)).min(1)]);
export const Payer = z.enum(["customer", "partner"]);

export const GrantCreate = z.strictObject({
  partner: TenantId,
  customer: TenantId,
  surfaces: GrantSurfaces,
  payer: Payer,
  share: Share.optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

export const GrantPatch = z.strictObject({
  surfaces: GrantSurfaces.optional(),
  payer: Payer.optional(),
  share: Share.nullable().optional(),
  expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
  status: z.literal("active").optional(),
});
