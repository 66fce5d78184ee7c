// Calls on behalf of a customer (CONTRACT §7), decided in the customer's limiter from what it
// holds in memory: the grants naming it and the partners they name. Pure, so admit and quote
// decide alike. The customer's rule and limits admit the call; the payer's plan prices it.
import { effectivePolicy, ruleRefusal, type EffectivePolicy, type SurfaceTerms } from "./policy";
import type { Attribution, GrantState, PartnerState, RefusalCode, TenantState } from "./protocol";

export type Delegation =
  | { ok: true; attribution: Attribution; grant: GrantState; pricing: (customer: EffectivePolicy) => EffectivePolicy }
  | { ok: false; code: RefusalCode; detail: string; payer?: string };

const covers = (g: GrantState, surface: string) => g.surfaces === "*" || g.surfaces.includes(surface);

/** The active, unexpired grant of `partner` covering `surface` (the oldest, so the choice is stable). */
export function grantFor(grants: Iterable<GrantState>, partner: string, surface: string, now: number): GrantState | null {
  let found: GrantState | null = null;
  for (const g of grants) {
    if (g.partner !== partner || g.status !== "active" || (g.expiresAt !== null && g.expiresAt <= now) || !covers(g, surface)) continue;
    if (found === null || g.id < found.id) found = g;
  }
  return found;
}

/** A tenant's own call on a surface only partners may call (no actor): refused. */
export function ownCallRefusal(terms: SurfaceTerms, surface: string): { code: RefusalCode; detail: string } | null {
  return terms.delegation === "required" ? { code: "delegation-required", detail: `Surface "${surface}" is called by partners on behalf of a customer, with Tollgate-On-Behalf-Of.` } : null;
}

export function delegate(
  customer: TenantState | null,
  partner: PartnerState | undefined,
  grants: Iterable<GrantState>,
  call: { actor: string; keyId: string; surface: string; terms: SurfaceTerms; now: number },
): Delegation {
  const { actor, keyId, surface, terms, now } = call;
  const noGrant = (detail: string): Delegation => ({ ok: false, code: "grant-required", detail });
  if (!customer || customer.deleted || customer.id === actor) {
    return noGrant(customer?.id === actor ? "A tenant's own key does not act on behalf of itself: drop Tollgate-On-Behalf-Of." : "No grant of this customer lets you call on its behalf.");
  }
  if (!partner) return noGrant(`No grant of "${customer.id}" lets "${actor}" call on its behalf.`);
  if (partner.deleted) return { ok: false, code: "key-revoked", detail: "This API key has been revoked." };
  const key = partner.keys[keyId];
  if (!key) return { ok: false, code: "unauthenticated", detail: "Unknown API key." };
  if (key.revokedAt !== null && key.revokedAt <= now) return { ok: false, code: "key-revoked", detail: "This API key has been revoked." };
  if (key.expiresAt !== null && key.expiresAt <= now) return { ok: false, code: "key-revoked", detail: "This API key has expired." };
  if (partner.status === "suspended") return { ok: false, code: "tenant-suspended", detail: `Tenant "${actor}" is suspended.` };

  const grant = grantFor(grants, actor, surface, now);
  if (!grant) return noGrant(`No active grant of "${customer.id}" lets "${actor}" call "${surface}" on its behalf.`);
  const payer = grant.payer === "partner" ? actor : customer.id;
  if (customer.status === "suspended") return { ok: false, code: "tenant-suspended", detail: `Tenant "${customer.id}" is suspended.`, payer };
  if (terms.delegation === "forbidden") return { ok: false, code: "delegation-forbidden", detail: `Surface "${surface}" is called by customers' own keys only.`, payer };

  const attribution: Attribution = { actor, payer, sharePpm: grant.payer === "customer" ? grant.sharePpm : 0 };
  if (grant.payer === "customer") return { ok: true, attribution, grant, pricing: (own) => own };
  // The partner pays: its plan must allow the surface, and prices it with its incentives.
  const partnerPolicy = effectivePolicy(partner, surface, terms);
  const refused = ruleRefusal(partnerPolicy, partner.addons);
  if (refused) return { ok: false, code: refused, detail: `Surface "${surface}" is not available on the paying partner's plan "${partner.plan}".`, payer };
  return {
    ok: true,
    attribution,
    grant,
    pricing: (own) => {
      const { price: _, ...limits } = own;
      return { ...limits, rule: partnerPolicy.rule, incentives: partnerPolicy.incentives, ...(partnerPolicy.price && { price: partnerPolicy.price }) };
    },
  };
}
