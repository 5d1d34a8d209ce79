import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admitInto,
  blocksOf,
  currentWindows,
  DAY_MS,
  decideAdmission,
  MINUTE_MS,
  upstreamFitAt,
  windowStart,
  type BucketSnapshot,
  type RateLimits,
  type UpstreamDimension,
  type WindowCounters,
} from '../../../ledger/rate-math';

const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const empty: WindowCounters = {
  minuteStart: 0,
  minuteRequests: 0,
  minuteTokens: 0,
  dayStart: 0,
  dayRequests: 0,
  dayTokens: 0,
};

function snapshot(limits: RateLimits, windows = empty, extra: Partial<BucketSnapshot> = {}): BucketSnapshot {
  return {
    key: 'b',
    limits,
    windows,
    upstream: { tokens: null, requests: null, blockedUntil: null },
    openLeaseExpiries: [],
    ...extra,
  };
}

describe('windows', () => {
  it('aligns windows to the minute and the UTC day', () => {
    expect(windowStart(T0 + 59_999, MINUTE_MS)).toBe(T0);
    expect(windowStart(T0 + 60_000, MINUTE_MS)).toBe(T0 + 60_000);
    expect(windowStart(T0, DAY_MS)).toBe(Date.UTC(2026, 10, 2));
  });

  it('counts an ended window as zero but never rolls a window back', () => {
    const w = {
      ...empty,
      minuteStart: T0,
      minuteRequests: 5,
      minuteTokens: 50,
      dayStart: Date.UTC(2026, 10, 2),
      dayRequests: 9,
    };
    expect(currentWindows(w, T0 + 1)).toEqual(w);
    expect(currentWindows(w, T0 + MINUTE_MS)).toMatchObject({
      minuteStart: T0 + MINUTE_MS,
      minuteRequests: 0,
      dayRequests: 9,
    });
    // a caller whose clock is behind the one that opened the window sees the newer window, not a reset
    expect(currentWindows(w, T0 - 5_000)).toEqual(w);
  });
});

describe('admission', () => {
  it('needs every bucket to fit and reports the latest retry time', () => {
    const full = snapshot({ rpm: 1 }, admitInto(empty, 0, T0));
    const slots = snapshot({ concurrency: 2 }, empty, {
      key: 'c',
      openLeaseExpiries: [T0 + 70_000, T0 + 90_000],
    });
    const decision = decideAdmission([snapshot({ rpm: 10 }), full, slots], 0, T0 + 1_000);
    expect(decision).toEqual({
      admitted: false,
      retryAfterMs: 69_000,
      blockedBy: [
        { bucket: 'b', limit: 'rpm', retryAt: T0 + MINUTE_MS },
        { bucket: 'c', limit: 'concurrency', retryAt: T0 + 70_000 },
      ],
    });
  });

  it('needs as many leases to end as the bucket is over its concurrency', () => {
    const over = snapshot({ concurrency: 1 }, empty, { openLeaseExpiries: [10, 20, 30] });
    expect(blocksOf(over, 0, 5)).toEqual([{ bucket: 'b', limit: 'concurrency', retryAt: 30 }]);
    expect(blocksOf(snapshot({ concurrency: 0 }), 0, 5)).toEqual([
      { bucket: 'b', limit: 'concurrency', retryAt: null },
    ]);
  });

  it('never admits more than the limits in any window, and its retry time is exact', () => {
    const limits = fc.record({
      rpm: fc.integer({ min: 1, max: 8 }),
      tpm: fc.integer({ min: 50, max: 500 }),
      rpd: fc.integer({ min: 5, max: 40 }),
    });
    const steps = fc.array(
      fc.record({ gap: fc.integer({ min: 0, max: 40_000 }), tokens: fc.integer({ min: 0, max: 120 }) }),
      {
        maxLength: 80,
      },
    );
    fc.assert(
      fc.property(limits, steps, (limit, plan) => {
        let windows = empty;
        let now = T0;
        const perMinute = new Map<number, { requests: number; tokens: number }>();
        let today = 0;
        for (const step of plan) {
          now += step.gap;
          const decision = decideAdmission([snapshot(limit, windows)], step.tokens, now);
          if (decision.admitted) {
            windows = admitInto(windows, step.tokens, now);
            const minute = windowStart(now, MINUTE_MS);
            const used = perMinute.get(minute) ?? { requests: 0, tokens: 0 };
            perMinute.set(minute, { requests: used.requests + 1, tokens: used.tokens + step.tokens });
            if (windowStart(now, DAY_MS) === windowStart(T0, DAY_MS)) today++;
            continue;
          }
          if (decision.retryAfterMs === null) {
            expect(step.tokens).toBeGreaterThan(limit.tpm);
            continue;
          }
          // exactly at the retry time it fits; one millisecond earlier it does not
          expect(
            decideAdmission([snapshot(limit, windows)], step.tokens, now + decision.retryAfterMs).admitted,
          ).toBe(true);
          if (decision.retryAfterMs > 0) {
            const early = now + decision.retryAfterMs - 1;
            expect(decideAdmission([snapshot(limit, windows)], step.tokens, early).admitted).toBe(false);
          }
        }
        for (const used of perMinute.values()) {
          expect(used.requests).toBeLessThanOrEqual(limit.rpm);
          expect(used.tokens).toBeLessThanOrEqual(limit.tpm);
        }
        expect(today).toBeLessThanOrEqual(limit.rpd);
      }),
      { numRuns: 300 },
    );
  });
});

describe('upstream feedback', () => {
  const observed: UpstreamDimension = {
    observedAt: 1_000,
    limit: 6_000,
    remaining: 200,
    resetAt: 59_000,
    consumed: 0,
  };

  it('lets through what Groq said remains, then waits for the refill', () => {
    expect(upstreamFitAt(observed, 200, 1_000)).toBe(1_000);
    // 0.1 token per ms: 100 more tokens need 1000 ms
    expect(upstreamFitAt(observed, 300, 1_000)).toBe(2_000);
    expect(upstreamFitAt({ ...observed, consumed: 150 }, 100, 1_200)).toBe(1_500);
    expect(upstreamFitAt(observed, 6_001, 1_000)).toBeNull();
    expect(upstreamFitAt(observed, 6_000, 59_000)).toBe(59_000);
  });

  it('without a limit waits for the reset time', () => {
    expect(upstreamFitAt({ ...observed, limit: null }, 300, 1_000)).toBe(59_000);
  });

  it('returns the first millisecond at which the refill covers the request', () => {
    const dimension = fc.record({
      observedAt: fc.integer({ min: 0, max: 1_000_000 }),
      limit: fc.integer({ min: 1, max: 1_000_000 }),
      remainingShare: fc.double({ min: 0, max: 1, noNaN: true }),
      span: fc.integer({ min: 1, max: 100_000 }),
      consumed: fc.integer({ min: 0, max: 5_000 }),
    });
    fc.assert(
      fc.property(
        dimension,
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (d, delay, need) => {
          const remaining = Math.floor(d.limit * d.remainingShare);
          const state: UpstreamDimension = {
            observedAt: d.observedAt,
            limit: d.limit,
            remaining,
            resetAt: d.observedAt + d.span,
            consumed: d.consumed,
          };
          const now = d.observedAt + delay;
          const at = upstreamFitAt(state, need, now);
          if (at === null) {
            expect(need).toBeGreaterThan(d.limit);
            return;
          }
          expect(at).toBeGreaterThanOrEqual(now);
          expect(upstreamFitAt(state, need, at)).toBe(at);
          if (at > now) expect(upstreamFitAt(state, need, at - 1)).not.toBe(at - 1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('blocks everything until retry-after has passed', () => {
    const blocked = snapshot({}, empty, { upstream: { tokens: null, requests: null, blockedUntil: 5_000 } });
    expect(blocksOf(blocked, 0, 4_999)).toEqual([
      { bucket: 'b', limit: 'upstream_retry_after', retryAt: 5_000 },
    ]);
    expect(blocksOf(blocked, 0, 5_000)).toEqual([]);
  });
});
