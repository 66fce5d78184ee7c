// The charge budget (docs/catalog-bounds.md): the catalog schema bounds price, units and
// multipliers so that the worst charge one request can produce is an exact safe integer of
// micro-units: MAX_PRICE_MICROS × MAX_UNITS_PER_REQUEST × MAX_MULTIPLIER³ ≤ 2^53 − 1.
import { MICROS_PER_UNIT } from "./money";

/**
 * The most units one request is charged for. Covers a json-array from the default 10 MiB body
 * (≤ 5,242,880 elements); meters clamp counts above it and so must the request path for bytes.
 */
export const MAX_UNITS_PER_REQUEST = 10_000_000;

/** The largest unit (and overage) price, as the catalog writes it and in micro-units. */
export const MAX_PRICE = "100";
export const MAX_PRICE_MICROS = 100 * MICROS_PER_UNIT;

/** Each incentive multiplier is in [0, 2] with at most 6 decimals; three can apply at once. */
export const MAX_MULTIPLIER = 2;
export const MULTIPLIER_DECIMALS = 6;
export const INCENTIVES_PER_REQUEST = 3;

/** The worst charge of one request: 100 × 10^7 units × 2³ = 8 × 10^15 micro-units. */
export const MAX_CHARGE_MICROS = MAX_PRICE_MICROS * MAX_UNITS_PER_REQUEST * MAX_MULTIPLIER ** INCENTIVES_PER_REQUEST;
