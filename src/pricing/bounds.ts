// The charge budget (docs/catalog-bounds.md): the catalog schema bounds price, units and
// multipliers so that the worst charge one request can produce is an exact safe integer of
// micro-units: MAX_PRICE_MICROS × MAX_UNITS_PER_REQUEST × MAX_MULTIPLIER³ ≤ 2^53 − 1.
import { MICROS_PER_UNIT } from "./money";

/**
 * The most units one request is charged for. Covers a json-array from the default 10 MiB body
 * (≤ 5,242,880 elements); meters clamp counts above it and so must the request path for bytes.
 */
export const MAX_UNITS_PER_REQUEST = 10_000_000;

/** A price may be for a block of units (`price.per`, e.g. 10^9 bytes = per GB), up to this many. */
export const MAX_PRICE_PER = 1_000_000_000;

/**
 * The most units one request is charged for under `per`: MAX_UNITS_PER_REQUEST priced blocks'
 * worth, so the charge budget is the same (a 1 GB sync priced per GB is 10^9 units, charged exactly).
 */
export const maxUnitsPerRequest = (per: number | undefined): number => MAX_UNITS_PER_REQUEST * (per ?? 1);

/** What a meter counts before the policy's bound is applied: the most any `per` allows. */
export const MAX_COUNTED_UNITS = 999_999_999_999_999; // the largest integer a structured-field header carries, < 2^53

/** The largest unit (and overage) price, as the catalog writes it and in micro-units. */
export const MAX_PRICE = "100";
export const MAX_PRICE_MICROS = 100 * MICROS_PER_UNIT;

/** Each incentive multiplier is in [0, 2] with at most 6 decimals; three can apply at once. */
export const MAX_MULTIPLIER = 2;
export const MULTIPLIER_DECIMALS = 6;
export const INCENTIVES_PER_REQUEST = 3;

/** The worst charge of one request: 100 × 10^7 units × 2³ = 8 × 10^15 micro-units. */
export const MAX_CHARGE_MICROS = MAX_PRICE_MICROS * MAX_UNITS_PER_REQUEST * MAX_MULTIPLIER ** INCENTIVES_PER_REQUEST;
