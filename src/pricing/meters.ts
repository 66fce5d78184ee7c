// Meters of CONTRACT §2: how many units a request is. `request` and `json-array` are known before
// forwarding; `response-header` and `response-bytes` only from the origin's answer.
import type { Meter } from "../catalog/schema";
import { problem } from "../problems";
import { MAX_COUNTED_UNITS } from "./bounds";

/** RFC 6901 JSON Pointer lookup; undefined when the pointer leads nowhere. */
export function resolvePointer(document: unknown, pointer: string): unknown {
  if (pointer === "") return document;
  let at: unknown = document;
  for (const raw of pointer.slice(1).split("/")) {
    const token = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(at)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      at = at[Number(token)];
    } else if (typeof at === "object" && at !== null && Object.hasOwn(at, token)) {
      at = (at as Record<string, unknown>)[token];
    } else return undefined;
  }
  return at;
}

export const needsRequestBody = (meter: Meter) => meter.count.from === "json-array";

/** Units known before forwarding, or null when only the response can tell. */
export function requestUnits(meter: Meter, body: ArrayBuffer | null): number | null {
  switch (meter.count.from) {
    case "request":
      return 1;
    case "json-array": {
      const pointer = meter.count.pointer;
      let document: unknown;
      try {
        document = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body ?? new ArrayBuffer(0)));
      } catch {
        throw problem("invalid-request", { detail: "The request body must be JSON.", errors: [{ path: "", message: "not valid JSON" }] });
      }
      const array = resolvePointer(document, pointer);
      if (!Array.isArray(array)) {
        throw problem("invalid-request", {
          detail: `The request body must hold a JSON array at "${pointer}".`,
          errors: [{ path: pointer, message: "expected an array" }],
        });
      }
      return Math.min(array.length, MAX_COUNTED_UNITS);
    }
    default:
      return null;
  }
}

/** A count of digits as units, clamped to what any policy could charge (chargeFor applies the policy's own bound). */
const unitsOf = (digits: string) => Math.min(Number(digits), MAX_COUNTED_UNITS);

/** Units from the origin's response headers, or null when they are only known at the body's end. */
export function responseUnits(meter: Meter, response: Response): number | null {
  switch (meter.count.from) {
    case "response-header": {
      const value = response.headers.get(meter.count.name)?.trim();
      return value !== undefined && /^\d+$/.test(value) ? unitsOf(value) : 1; // missing or malformed = 1
    }
    case "response-bytes": {
      if (response.body === null) return 0;
      const length = response.headers.get("content-length");
      return length !== null && /^\d+$/.test(length) ? unitsOf(length) : null;
    }
    case "reported":
      return 0; // its units arrive by report (CONTRACT §11): the answer itself is charged none
    default:
      return null;
  }
}
