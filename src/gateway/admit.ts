// Step 3 (CONTRACT §3.3): one RPC to the tenant's limiter. A refusal becomes the problem the
// contract names; a limiter that cannot answer is handled by FAIL_MODE.
import { problem, type Problem } from "../problems";
import type { AdmitRequest, AdmitResult, Admitted, Refusal } from "../limiter/protocol";
import { limiterOf } from "../limiter/stub";
import { admitInLine } from "./admission-line";
import { rateLimitHeaders } from "./headers";

export type Admission = Admitted;
export type Replay = Extract<AdmitResult, { kind: "replay" }>;

/** Limiters this isolate has sent a surface's terms to, per catalog version (they keep them). */
const termsSent = new Set<string>();

/** `null` means: the limiter failed and FAIL_MODE=open, so forward unmetered. */
export async function admit(
  env: Pick<Env, "LIMITER" | "FAIL_MODE" | "ADMIT_BATCHING">,
  tenantId: string,
  req: AdmitRequest,
  keepAlive: (promise: Promise<unknown>) => void,
): Promise<Admission | Replay | null> {
  let result: AdmitResult;
  const sent = `${tenantId}\u0000${req.catalogVersion}\u0000${req.surface}`;
  try {
    const { terms: _, ...lean } = req;
    const sending = termsSent.has(sent) ? lean : req;
    result = await (env.ADMIT_BATCHING === "off" ? limiterOf(env, tenantId).admit(sending) : admitInLine(env, tenantId, sending, keepAlive));
    if (result.kind === "terms-needed") result = await limiterOf(env, tenantId).admit(req); // it restarted and lost them
    if (termsSent.size >= 10_000) termsSent.clear();
    termsSent.add(sent);
  } catch (error) {
    console.error("limiter failed", tenantId, error);
    if (env.FAIL_MODE === "open") return null;
    throw problem("limiter-unavailable", { detail: "The rate limiter could not answer; try again shortly.", retryAfter: 1 });
  }
  if (result.kind === "refused") throw refusalProblem(result, req.surface);
  if (result.kind === "terms-needed") throw new Error("the limiter did not take the surface's terms");
  return result;
}

const principalCodes = new Set(["unauthenticated", "key-revoked", "tenant-suspended"]);

export function refusalProblem(result: Omit<Refusal, "kind">, surface: string): Problem {
  const headers = result.limits && result.policy ? rateLimitHeaders(result.limits, result.policy.meter) : new Headers();
  if (result.payer !== undefined) headers.set("Tollgate-Payer", result.payer);
  return problem(result.code, {
    detail: result.detail,
    ...(!principalCodes.has(result.code) && { surface }),
    ...(result.retryAfter !== undefined && { retryAfter: result.retryAfter }),
    ...(result.violatedPolicies && { violatedPolicies: result.violatedPolicies }),
    headers,
  });
}
