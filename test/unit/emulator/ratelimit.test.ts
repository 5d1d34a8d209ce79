import { describe, expect, it } from 'vitest';
import { BucketWindow, DAY_MS, FixedWindow, MINUTE_MS, OrgLimiter } from '../../../emulator/ratelimit';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0); // on a minute and day boundary

describe('bucket window', () => {
  it('starts full, refills continuously at limit per window, never above the limit', () => {
    const w = new BucketWindow(6000, MINUTE_MS); // 100 tokens per second
    expect(w.available(T0)).toBe(6000);
    w.take(T0, 6000);
    expect(w.available(T0)).toBe(0);
    expect(w.available(T0 + 1_000)).toBe(100);
    expect(w.available(T0 + 30_000)).toBe(3000);
    expect(w.available(T0 + 600_000)).toBe(6000);
  });

  it('waits exactly as long as the refill needs, to the nanosecond', () => {
    const w = new BucketWindow(12_000, MINUTE_MS); // 0.2 tokens per ms
    w.take(T0, 12_000);
    expect(w.waitNanos(T0, 1)).toBe(5_000_000n); // 5 ms for one token
    expect(w.waitNanos(T0, 397)).toBe(1_985_000_000n);
    expect(w.waitNanos(T0 + 1_985, 397)).toBe(0n);
    expect(w.waitNanos(T0, 12_001)).toBeNull();
    // limit not divisible: 7 per minute -> 60000/7 ms per unit, rounded up to the ns
    const odd = new BucketWindow(7, MINUTE_MS);
    odd.take(T0, 7);
    expect(odd.waitNanos(T0, 1)).toBe(8_571_428_572n);
  });

  it('resets (is full again) after used × window / limit', () => {
    const w = new BucketWindow(14_400, DAY_MS); // one request per 6 s
    w.take(T0, 30);
    expect(w.resetNanos(T0)).toBe(180_000_000_000n);
    expect(w.resetNanos(T0 + 179_560)).toBe(440_000_000n);
  });

  it('gives back a correction but never above the limit, and can go below zero', () => {
    const w = new BucketWindow(100, MINUTE_MS);
    w.take(T0, 80);
    w.give(T0, 30);
    expect(w.available(T0)).toBe(50);
    w.give(T0, 500);
    expect(w.available(T0)).toBe(100);
    w.take(T0, 130);
    expect(w.available(T0)).toBe(-30);
    expect(w.waitNanos(T0, 1)).toBe(18_600_000_000n); // 31 units at 0.6 s each
  });

  it('ignores a clock that moves backwards', () => {
    const w = new BucketWindow(60, MINUTE_MS);
    w.take(T0, 60);
    expect(w.available(T0 - 30_000)).toBe(0);
    expect(w.available(T0 + 1_000)).toBe(1);
  });
});

describe('fixed window', () => {
  it('resets at clock-aligned boundaries', () => {
    const w = new FixedWindow(30, MINUTE_MS);
    w.take(T0 + 10_000, 30);
    expect(w.available(T0 + 59_999)).toBe(0);
    expect(w.waitNanos(T0 + 59_000, 1)).toBe(1_000_000_000n);
    expect(w.resetNanos(T0 + 10_000)).toBe(50_000_000_000n);
    expect(w.available(T0 + 60_000)).toBe(30);
    expect(w.resetNanos(T0 + 60_000)).toBe(0n);
  });

  it('uses UTC days for day windows', () => {
    const w = new FixedWindow(1000, DAY_MS);
    w.take(T0, 1000);
    expect(w.waitNanos(T0, 1)).toBe(BigInt(12 * 3600) * 1_000_000_000n);
  });
});

describe('organization limiter', () => {
  const limits = { rpm: 2, rpd: 100, tpm: 1000, tpd: 5000 };
  const make = (algorithm: 'bucket' | 'fixed' = 'bucket') =>
    new OrgLimiter('org_test', algorithm, [['m', limits]]);

  it('answers 413 for a request larger than TPM, whatever was used', () => {
    const limiter = make();
    const error = limiter.check('m', 1001, T0);
    expect(error?.status).toBe(413);
    expect(error?.type).toBe('tokens');
    expect(error?.code).toBe('rate_limit_exceeded');
    expect(error?.message).toContain(
      'Request too large for model `m` in organization `org_test` service tier `on_demand` on tokens per minute (TPM): Limit 1000, Requested 1001',
    );
  });

  it('answers 429 on RPM with the wait and retry-after', () => {
    const limiter = make();
    limiter.admit('m', 10, T0);
    limiter.admit('m', 10, T0);
    const error = limiter.check('m', 10, T0);
    expect(error?.status).toBe(429);
    expect(error?.type).toBe('requests');
    expect(error?.message).toContain(
      'on requests per minute (RPM): Limit 2, Used 2, Requested 1. Please try again in 30s.',
    );
    expect(error?.headers['retry-after']).toBe('30');
  });

  it('answers 429 on TPM with Groq-style message and rounded-up retry-after', () => {
    const limiter = make();
    limiter.admit('m', 900, T0);
    const error = limiter.check('m', 200, T0 + 1);
    expect(error?.type).toBe('tokens');
    // 100 tokens short at 1000/min: 6 s, minus the 1 ms of refill (0.01666 tokens)
    expect(error?.message).toContain('Limit 1000, Used 900, Requested 200. Please try again in 5.999s.');
    expect(error?.headers['retry-after']).toBe('6');
    expect(limiter.check('m', 200, T0 + 6_000)).toBeNull();
  });

  it('corrects an admission to the actual tokens', () => {
    const limiter = make();
    limiter.admit('m', 600, T0);
    limiter.settle('m', 600, 100, T0);
    expect(limiter.headers('m', T0)['x-ratelimit-remaining-tokens']).toBe('900');
  });

  it('reports the day request window and the minute token window in headers', () => {
    const limiter = make();
    limiter.admit('m', 250, T0);
    expect(limiter.headers('m', T0)).toEqual({
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-remaining-requests': '99',
      'x-ratelimit-reset-requests': '14m24s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '750',
      'x-ratelimit-reset-tokens': '15s',
    });
  });

  it('does not limit when enforcement is off', () => {
    const limiter = make();
    limiter.enforce = false;
    expect(limiter.check('m', 5000, T0)).toBeNull();
  });

  it('fixed windows free everything at the next minute', () => {
    const limiter = make('fixed');
    limiter.admit('m', 1000, T0 + 30_000);
    expect(limiter.check('m', 1, T0 + 59_000)?.message).toContain('Please try again in 1s.');
    expect(limiter.check('m', 1, T0 + 60_000)).toBeNull();
  });
});
