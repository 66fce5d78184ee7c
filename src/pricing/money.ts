// Money is integer micro-units (1 currency unit = 1 000 000) in code and storage, and a decimal
// string at the edges (CONTRACT §2 Money). Never a summed float.

export const MICROS_PER_UNIT = 1_000_000;
const DECIMAL = /^(0|[1-9]\d*)(?:\.(\d{1,6}))?$/;

export function isMoney(value: string): boolean {
  return DECIMAL.test(value);
}

/** "0.001" → 1000. Throws on anything that is not a non-negative decimal with ≤ 6 decimals. */
export function parseMoney(value: string): number {
  const match = DECIMAL.exec(value);
  if (!match) throw new RangeError(`not a money amount: ${value}`);
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? "").padEnd(6, "0"));
  const micros = whole * MICROS_PER_UNIT + fraction;
  if (!Number.isSafeInteger(micros)) throw new RangeError(`money amount too large: ${value}`);
  return micros;
}

/** 1000 → "0.001", -2500000 → "-2.5", 0 → "0". */
export function formatMoney(micros: number): string {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`not an integer micro amount: ${micros}`);
  const sign = micros < 0 ? "-" : "";
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / MICROS_PER_UNIT);
  const fraction = String(abs % MICROS_PER_UNIT).padStart(6, "0").replace(/0+$/, "");
  return `${sign}${whole}${fraction ? `.${fraction}` : ""}`;
}
