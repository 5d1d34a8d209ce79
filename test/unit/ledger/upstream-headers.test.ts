import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseRateLimitHeaders } from '../../../ledger/upstream-headers';

describe('parseDurationMs', () => {
  it.each([
    ['2m59.56s', 179_560],
    ['7.66s', 7_660],
    ['0.5s', 500],
    ['120ms', 120],
    ['1h2m3s', 3_723_000],
    ['14', 14_000],
    ['1.0001s', 1_001],
  ])('%s -> %i ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', 'soon', '5x', 's', '2m junk', '-1s'])('refuses %j', (text) => {
    expect(parseDurationMs(text)).toBeNull();
  });
});

describe('parseRateLimitHeaders', () => {
  const groq = {
    'x-ratelimit-limit-requests': '14400',
    'x-ratelimit-remaining-requests': '14370',
    'x-ratelimit-reset-requests': '2m59.56s',
    'x-ratelimit-limit-tokens': '6000',
    'x-ratelimit-remaining-tokens': '5997',
    'x-ratelimit-reset-tokens': '30ms',
  };

  it('reads the request (daily) and token (minute) windows', () => {
    expect(parseRateLimitHeaders(groq, 0)).toEqual({
      limitRequests: 14_400,
      remainingRequests: 14_370,
      requestsResetMs: 179_560,
      limitTokens: 6_000,
      remainingTokens: 5_997,
      tokensResetMs: 30,
    });
  });

  it('reads a fetch Headers object, whatever the case', () => {
    const headers = new Headers({ 'X-RateLimit-Remaining-Tokens': '12', 'Retry-After': '2' });
    expect(parseRateLimitHeaders(headers, 0)).toEqual({ remainingTokens: 12, retryAfterMs: 2_000 });
    expect(parseRateLimitHeaders({ 'Retry-After': ['3'] }, 0)).toEqual({ retryAfterMs: 3_000 });
  });

  it('prefers retry-after-ms and understands an HTTP date', () => {
    expect(parseRateLimitHeaders({ 'retry-after-ms': '1500', 'retry-after': '2' }, 0)).toEqual({
      retryAfterMs: 1_500,
    });
    const now = Date.UTC(2026, 10, 2, 10, 0, 0);
    expect(parseRateLimitHeaders({ 'retry-after': 'Mon, 02 Nov 2026 10:00:05 GMT' }, now)).toEqual({
      retryAfterMs: 5_000,
    });
  });

  it('ignores what it cannot read', () => {
    expect(
      parseRateLimitHeaders(
        { 'x-ratelimit-remaining-tokens': 'lots', 'retry-after': 'later', other: '1' },
        0,
      ),
    ).toEqual({});
  });
});
