// Exact multiplication of integer micro-units by decimal multipliers, rounded once, half to even,
// to a whole micro-unit. Multipliers are read as the decimals they were written as (0.9 is 9/10),
// so no binary-float error enters the money.

/** A finite non-negative number as an exact fraction numerator / 10^scale. */
export function decimalFraction(x: number): { numerator: bigint; denominator: bigint } {
  if (!Number.isFinite(x) || x < 0) throw new RangeError(`not a multiplier: ${x}`);
  // toPrecision(15) then trimming gives the shortest decimal a catalog author would have written.
  const text = Number(x.toPrecision(15)).toString();
  const [mantissa = "0", exponentText] = text.split("e");
  const exponent = Number(exponentText ?? 0);
  const [whole = "0", fraction = ""] = mantissa.split(".");
  let numerator = BigInt(whole + fraction);
  let scale = fraction.length - exponent;
  if (scale < 0) {
    numerator *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { numerator, denominator: 10n ** BigInt(scale) };
}

/** round(n / d) with ties to even; n ≥ 0, d > 0. */
export function divideHalfEven(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n % d;
  const twice = 2n * r;
  if (twice > d || (twice === d && q % 2n === 1n)) return q + 1n;
  return q;
}

/** micros × every multiplier, as one exact fraction rounded once half-even; any size. */
export function multiplyExact(micros: bigint, multipliers: number[]): bigint {
  let numerator = micros;
  let denominator = 1n;
  for (const m of multipliers) {
    const f = decimalFraction(m);
    numerator *= f.numerator;
    denominator *= f.denominator;
  }
  return divideHalfEven(numerator, denominator);
}

export function multiplyMicros(micros: number, multipliers: number[]): number {
  const result = Number(multiplyExact(BigInt(micros), multipliers));
  if (!Number.isSafeInteger(result)) throw new RangeError("cost out of range");
  return result;
}
