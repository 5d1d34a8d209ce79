/**
 * Durations the way Groq prints them (Go's time.Duration format): `2m59.56s`, `7.66s`, `1.984999999s`,
 * `480ms`, `1h0m0s`, `0s`.
 *
 * - `x-ratelimit-reset-*` headers: rounded UP to 10 ms (two decimals of seconds), e.g. `7.66s`.
 * - "Please try again in …" messages: exact to the nanosecond, e.g. `1.984999999s`.
 * - `retry-after` header: whole seconds, rounded up, at least 1.
 */

const NS_PER_US = 1_000n;
const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

function fraction(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const rest = value % unit;
  if (rest === 0n) return whole.toString();
  const digits = unit.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

/** Go's `time.Duration.String()` for a non-negative number of nanoseconds. */
export function formatGoDuration(nanos: bigint): string {
  if (nanos < 0n) return '-' + formatGoDuration(-nanos);
  if (nanos === 0n) return '0s';
  if (nanos < NS_PER_US) return `${nanos}ns`;
  if (nanos < NS_PER_MS) return `${fraction(nanos, NS_PER_US)}µs`;
  if (nanos < NS_PER_S) return `${fraction(nanos, NS_PER_MS)}ms`;
  const hours = nanos / (3600n * NS_PER_S);
  const minutes = (nanos / (60n * NS_PER_S)) % 60n;
  const seconds = fraction(nanos % (60n * NS_PER_S), NS_PER_S);
  if (hours > 0n) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** A reset header value: the wait rounded up to 10 ms, Go-formatted (`2m59.56s`, `7.66s`, `0s`). */
export function formatResetDuration(nanos: bigint): string {
  if (nanos <= 0n) return '0s';
  const step = 10n * NS_PER_MS;
  return formatGoDuration(((nanos + step - 1n) / step) * step);
}

/** The `retry-after` header: whole seconds rounded up, never below 1. */
export function retryAfterSeconds(nanos: bigint): number {
  if (nanos <= 0n) return 1;
  const seconds = (nanos + NS_PER_S - 1n) / NS_PER_S;
  return Number(seconds < 1n ? 1n : seconds);
}
