/**
 * Reading Groq's rate-limit headers. `x-ratelimit-*-requests` describe the per-day request window,
 * `x-ratelimit-*-tokens` the per-minute token window; reset values are durations like `2m59.56s` or
 * `7.66s`. `retry-after` (seconds, or an HTTP date) comes with 429s; `retry-after-ms` is honoured too.
 */

export interface UpstreamObservation {
  limitRequests?: number;
  remainingRequests?: number;
  /** milliseconds until the request window is full again */
  requestsResetMs?: number;
  limitTokens?: number;
  remainingTokens?: number;
  tokensResetMs?: number;
  /** milliseconds to wait before calling again */
  retryAfterMs?: number;
}

export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | number | null | undefined>>;

function reader(headers: HeaderSource): (name: string) => string | undefined {
  if (typeof headers.get === 'function') {
    const get = headers.get as (name: string) => string | null;
    return (name) => get.call(headers, name) ?? undefined;
  }
  const lower = new Map<string, string>();
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (value === null || value === undefined) continue;
    const text = Array.isArray(value) ? String(value[0]) : String(value);
    lower.set(name.toLowerCase(), text);
  }
  return (name) => lower.get(name);
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;

/**
 * '2m59.56s' -> 179560, '7.66s' -> 7660, '120ms' -> 120, '1h2m' -> 3720000; a bare number is seconds.
 * Rounds up to whole milliseconds; null when unreadable.
 */
export function parseDurationMs(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(DURATION_PART)) {
    if (match.index !== consumed) return null;
    const amount = Number(match[1]);
    const unit = UNIT_MS[match[2] ?? ''];
    if (unit === undefined || !Number.isFinite(amount)) return null;
    total += amount * unit;
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length) return null;
  return Math.ceil(total - 1e-9);
}

function count(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** `retry-after-ms`, else `retry-after` as seconds or an HTTP date (relative to `now`). */
function retryAfterMs(get: (name: string) => string | undefined, now: number): number | undefined {
  const ms = get('retry-after-ms');
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const value = get('retry-after');
  if (value === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function parseRateLimitHeaders(headers: HeaderSource, now: number): UpstreamObservation {
  const get = reader(headers);
  const observation: UpstreamObservation = {};
  const set = <K extends keyof UpstreamObservation>(key: K, value: number | null | undefined) => {
    if (value !== undefined && value !== null) observation[key] = value;
  };
  set('limitRequests', count(get('x-ratelimit-limit-requests')));
  set('remainingRequests', count(get('x-ratelimit-remaining-requests')));
  const requestsReset = get('x-ratelimit-reset-requests');
  set('requestsResetMs', requestsReset === undefined ? undefined : parseDurationMs(requestsReset));
  set('limitTokens', count(get('x-ratelimit-limit-tokens')));
  set('remainingTokens', count(get('x-ratelimit-remaining-tokens')));
  const tokensReset = get('x-ratelimit-reset-tokens');
  set('tokensResetMs', tokensReset === undefined ? undefined : parseDurationMs(tokensReset));
  set('retryAfterMs', retryAfterMs(get, now));
  return observation;
}
