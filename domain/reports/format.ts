/** Display helpers for reports: exact USD strings, basis points as percents, token counts. */
import { formatUsd, type Nanos } from '../money';

/** "$12.50", "$0.000295": exact, never rounded. */
export function usd(nanos: Nanos): string {
  return nanos < 0n ? `-$${formatUsd(-nanos)}` : `$${formatUsd(nanos)}`;
}

/** 1234 -> "12.34%", -5 -> "-0.05%", null -> "n/a" */
export function percent(basisPoints: number | null): string {
  if (basisPoints === null) return 'n/a';
  const sign = basisPoints < 0 ? '-' : '';
  const abs = Math.abs(basisPoints);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}%`;
}

/** "+12.34%" with an explicit sign for changes */
export function signedPercent(basisPoints: number | null): string {
  if (basisPoints === null) return 'n/a';
  return basisPoints > 0 ? `+${percent(basisPoints)}` : percent(basisPoints);
}

export function signedUsd(nanos: Nanos): string {
  return nanos > 0n ? `+${usd(nanos)}` : usd(nanos);
}

/** 1234567n -> "1,234,567" */
export function count(value: bigint): string {
  return value.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON with bigints as decimal strings (money stays exact for any reader). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n';
}

const BIGINT_KEYS = new Set([
  'requests',
  'attempts',
  'inputTokens',
  'outputTokens',
  'cachedTokens',
  'quantity',
  'count',
  'total',
  'model_not_allowed',
  'max_tokens',
  'budget',
  'rate_limit',
  'auth',
  'other',
]);

/** Parse a report.json back into bigints (the inverse of `toJson` for report files). */
export function parseReportJson<T>(text: string): T {
  return JSON.parse(text, (key, value: unknown) => {
    if (typeof value === 'string' && /^-?\d+$/.test(value) && (key.endsWith('Nanos') || BIGINT_KEYS.has(key)))
      return BigInt(value);
    if (key === 'dailyCostNanos' && Array.isArray(value)) return value.map((v) => BigInt(String(v)));
    return value;
  }) as T;
}
