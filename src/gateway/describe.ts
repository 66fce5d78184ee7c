// What a request is, as far as admission and pricing care (CONTRACT §3.2, §2 meters, §3
// Idempotency): its surface and terms, the units known before forwarding, its Idempotency-Key
// and the claim that identifies "the same request". One function, so that the quote describes a
// request exactly as the request path does.
import type { CatalogSnapshot } from "../catalog/store";
import type { IdempotencyClaim } from "../limiter/idempotency";
import { surfaceTerms, type SurfaceTerms } from "../limiter/policy";
import { needsRequestBody, requestUnits } from "../pricing/meters";
import { classify } from "./classify";
import { idempotencyClaim, idempotencyKeyOf, isConditional, isUnsafe, keepsResponses } from "./idempotency";

export interface RequestDescription {
  surface: string;
  terms: SurfaceTerms;
  /** Units known before forwarding (request count, json-array); null when the response tells. */
  units: number | null;
  idempotencyKey: string | null;
  /** An unsafe request with a valid Idempotency-Key: the incentive applies. */
  keyIncentive: boolean;
  /** POST/PATCH with a key: its answer is kept for replays, and `claim` identifies it. */
  keepResponse: boolean;
  claim?: IdempotencyClaim;
  conditional: boolean;
  /** The body, when it had to be read (a meter counts inside it, or the answer is kept). */
  buffered: ArrayBuffer | null;
}

/**
 * Classifies the request, then reads its body only if something needs it (`readBody` decides how,
 * with the caller's limits), and derives the rest. `beforeBody` runs checks that must refuse a
 * request before its body is read.
 */
export async function describeRequest(
  snapshot: CatalogSnapshot | null,
  request: { method: string; url: URL; headers: Headers },
  readBody: () => Promise<ArrayBuffer | null>,
  beforeBody?: (surface: string) => void,
): Promise<RequestDescription> {
  const { method, url, headers } = request;
  const surface = classify(snapshot, method, url.pathname);
  const terms = surfaceTerms(snapshot!.catalog, surface); // memoised per catalog version
  beforeBody?.(surface);
  const idempotencyKey = idempotencyKeyOf(headers);
  const keepResponse = idempotencyKey !== null && keepsResponses(method);
  const buffered = needsRequestBody(terms.meter) || keepResponse ? await readBody() : null;
  const units = requestUnits(terms.meter, buffered);
  const claim = keepResponse ? await idempotencyClaim(idempotencyKey, method, url, buffered ?? new ArrayBuffer(0)) : undefined;
  return {
    surface,
    terms,
    units,
    idempotencyKey,
    keyIncentive: idempotencyKey !== null && isUnsafe(method),
    keepResponse,
    ...(claim && { claim }),
    conditional: isConditional(headers),
    buffered,
  };
}
