/**
 * Exact money. Every amount is an integer number of nano-dollars (1e-9 USD) held in a bigint, so sums
 * never drift. Decimal strings are parsed digit by digit; floats never touch an amount.
 */
export type Nanos = bigint;

export const NANOS_PER_USD = 1_000_000_000n;
const USD_FRACTION_DIGITS = 9;

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** Parse a non-negative decimal such as "0.59" or "12" into an integer scaled by 10^digits, exactly. */
export function parseScaledDecimal(text: string, digits: number): bigint {
  const match = DECIMAL.exec(text.trim());
  if (!match) throw new RangeError(`not a non-negative decimal number: ${JSON.stringify(text)}`);
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  if (fraction.length > digits && /[1-9]/.test(fraction.slice(digits))) {
    throw new RangeError(`${text} has more than ${digits} decimal places`);
  }
  const padded = (fraction + '0'.repeat(digits)).slice(0, digits);
  return BigInt(whole) * 10n ** BigInt(digits) + BigInt(padded === '' ? '0' : padded);
}

/** "12.5" (USD) -> 12_500_000_000n nanos. Accepts a number only through its shortest decimal form. */
export function usdToNanos(usd: string | number): Nanos {
  const text = typeof usd === 'number' ? numberToDecimalString(usd) : usd;
  return parseScaledDecimal(text, USD_FRACTION_DIGITS);
}

/** Exact decimal rendering of nanos as USD, e.g. 1_500_000n -> "0.0015". Trailing zeros trimmed, at least 2 places. */
export function formatUsd(nanos: Nanos, minFractionDigits = 2): string {
  const negative = nanos < 0n;
  const abs = negative ? -nanos : nanos;
  const whole = abs / NANOS_PER_USD;
  let fraction = (abs % NANOS_PER_USD).toString().padStart(USD_FRACTION_DIGITS, '0').replace(/0+$/, '');
  if (fraction.length < minFractionDigits) fraction = fraction.padEnd(minFractionDigits, '0');
  return `${negative ? '-' : ''}${whole}${fraction ? '.' + fraction : ''}`;
}

/** Round half away from zero to cents, for display only; sums are always done on nanos. */
export function formatUsdCents(nanos: Nanos): string {
  const abs = nanos < 0n ? -nanos : nanos;
  const cents = (abs * 100n + NANOS_PER_USD / 2n) / NANOS_PER_USD;
  return `${nanos < 0n && cents > 0n ? '-' : ''}$${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`;
}

/** Ceiling division for a non-negative numerator and a positive denominator. */
export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  if (numerator <= 0n) return -(-numerator / denominator);
  return (numerator + denominator - 1n) / denominator;
}

export function sumNanos(amounts: Iterable<Nanos>): Nanos {
  let total = 0n;
  for (const amount of amounts) total += amount;
  return total;
}

/** Shortest round-trip decimal of a finite, non-negative JS number (no exponent form). */
export function numberToDecimalString(value: number): string {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`not a non-negative finite number: ${value}`);
  const text = String(value);
  if (!/e/i.test(text)) return text;
  const [mantissa = '0', exponentText = '0'] = text.toLowerCase().split('e');
  const exponent = Number(exponentText);
  const [intPart = '0', fracPart = ''] = mantissa.split('.');
  const digits = intPart + fracPart;
  const point = intPart.length + exponent;
  if (point <= 0) return '0.' + '0'.repeat(-point) + digits;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return digits.slice(0, point) + '.' + digits.slice(point);
}
