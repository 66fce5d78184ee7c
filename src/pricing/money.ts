// Money is integer micro-units (1 currency unit = 1 000 000) in code and storage, and a decimal
// string at the edges (CONTRACT §2 Money). Never a summed float.

export const MICROS_PER_UNIT = 1_000_000;
const DECIMAL = /^(0|[1-9]\d*)(?:\.(\d{1,6}))?$/;

export function isMoney(value: string): boolean {
  return DECIMAL.test(value);
}

/** Prices parsed before: a plan's few prices are parsed on every charge (issue 15). */
const parsed = new Map<string, bigint>();

/** "0.001" → 1000n, exact for any length. Throws on anything that is not a non-negative decimal with ≤ 6 decimals. */
export function parseMoneyExact(value: string): bigint {
  const known = parsed.get(value);
  if (known !== undefined) return known;
  const match = DECIMAL.exec(value);
  if (!match) throw new RangeError(`not a money amount: ${value}`);
  const micros = BigInt(match[1]!) * BigInt(MICROS_PER_UNIT) + BigInt((match[2] ?? "").padEnd(6, "0"));
  if (parsed.size >= 1_000) parsed.clear();
  parsed.set(value, micros);
  return micros;
}

/** "0.001" → 1000. Throws on a malformed amount or one beyond Number.MAX_SAFE_INTEGER micro-units. */
export function parseMoney(value: string): number {
  const micros = parseMoneyExact(value);
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`money amount too large: ${value}`);
  return Number(micros);
}

/**
 * 1000 → "0.001", -2500000 → "-2.5", 0 → "0". Exact for a bigint of any size; a number must be an
 * integer, and one past 2^53 (a D1 sum reads back rounded) is written as the integer it holds.
 */
export function formatMoney(micros: number | bigint): string {
  if (typeof micros === "number" && !Number.isInteger(micros)) throw new RangeError(`not an integer micro amount: ${micros}`);
  const exact = BigInt(micros);
  const abs = exact < 0n ? -exact : exact;
  const per = BigInt(MICROS_PER_UNIT);
  const fraction = String(abs % per).padStart(6, "0").replace(/0+$/, "");
  return `${exact < 0n ? "-" : ""}${abs / per}${fraction ? `.${fraction}` : ""}`;
}
