import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admitIntoDay,
  blocksOf,
  currentDay,
  DAY_MS,
  decideAdmission,
  MINUTE_MS,
  MINUTE_WINDOW_MS,
  minuteUsage,
  RATE_GUARD_MS,
  slidingFitAt,
  upstreamFitAt,
  windowStart,
  windowsAt,
  type Admission,
  type DayCounters,
  type UpstreamDimension,
} from '../../../ledger/rate-math';
import { snapshot } from '../../support/rate-snapshot';

const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const noDay: DayCounters = { dayStart: 0, dayRequests: 0, dayTokens: 0 };

describe('windows', () => {
  it('aligns days to UTC midnight', () => {
    expect(windowStart(T0 + 59_999, MINUTE_MS)).toBe(T0);
    expect(windowStart(T0, DAY_MS)).toBe(Date.UTC(2026, 10, 2));
  });

  it('counts an ended day as zero but never rolls a day back', () => {
    const day = { dayStart: Date.UTC(2026, 10, 2), dayRequests: 9, dayTokens: 90 };
    expect(currentDay(day, T0)).toEqual(day);
    expect(currentDay(day, Date.UTC(2026, 10, 3))).toEqual({
      dayStart: Date.UTC(2026, 10, 3),
      dayRequests: 0,
      dayTokens: 0,
    });
    // a caller whose clock is behind the one that opened the day sees the newer day, not a reset
    expect(currentDay(day, Date.UTC(2026, 10, 1, 23))).toEqual(day);
  });

  it('the minute slides: an admission counts for exactly 61 s after it (60 s and a 1 s guard band)', () => {
    expect(MINUTE_WINDOW_MS).toBe(61_000);
    expect(RATE_GUARD_MS).toBe(1_000);
    const recent = [
      { at: T0, tokens: 10 },
      { at: T0 + 30_000, tokens: 5 },
    ];
    expect(minuteUsage(recent, T0 + 60_000)).toEqual({ requests: 2, tokens: 15 });
    expect(minuteUsage(recent, T0 + 60_999)).toEqual({ requests: 2, tokens: 15 });
    expect(minuteUsage(recent, T0 + 61_000)).toEqual({ requests: 1, tokens: 5 });
    expect(windowsAt(noDay, recent, T0 + 61_000)).toMatchObject({
      minuteStart: T0 + 1,
      minuteRequests: 1,
      minuteTokens: 5,
    });
    // rows ahead of `now` (another process's clock runs ahead) count as well
    expect(minuteUsage(recent, T0 - 1_000)).toEqual({ requests: 2, tokens: 15 });
  });

  it('a full window fits again when enough of the oldest admissions have left', () => {
    const recent = [
      { at: T0 + 20_000, tokens: 40 },
      { at: T0, tokens: 50 },
      { at: T0 + 10_000, tokens: 30 },
    ];
    const one = () => 1;
    const tokens = (a: Admission) => a.tokens;
    expect(slidingFitAt(recent, one, 3, 1, T0 + 25_000)).toBe(T0 + 61_000);
    expect(slidingFitAt(recent, one, 2, 1, T0 + 25_000)).toBe(T0 + 71_000);
    expect(slidingFitAt(recent, one, 4, 1, T0 + 25_000)).toBe(T0 + 25_000);
    expect(slidingFitAt(recent, one, 0, 1, T0 + 25_000)).toBeNull();
    expect(slidingFitAt(recent, tokens, 150, 30, T0 + 25_000)).toBe(T0 + 25_000);
    expect(slidingFitAt(recent, tokens, 150, 31, T0 + 25_000)).toBe(T0 + 61_000);
    expect(slidingFitAt(recent, tokens, 150, 140, T0 + 25_000)).toBe(T0 + 81_000);
    expect(slidingFitAt(recent, tokens, 150, 151, T0 + 25_000)).toBeNull();
  });
});

/** The largest number of admissions (and tokens) in any interval [s, s + span), 61 s unless told. */
function worstMinute(admitted: Admission[], span = MINUTE_WINDOW_MS): { requests: number; tokens: number } {
  const sorted = [...admitted].sort((a, b) => a.at - b.at);
  let requests = 0;
  let tokens = 0;
  // an interval holding the most starts at some admission's time
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i]!.at;
    const inside = sorted.filter((a) => a.at >= start && a.at < start + span);
    requests = Math.max(requests, inside.length);
    tokens = Math.max(
      tokens,
      inside.reduce((sum, a) => sum + a.tokens, 0),
    );
  }
  return { requests, tokens };
}

describe('admission', () => {
  it('needs every bucket to fit and reports the latest retry time', () => {
    const full = snapshot({ rpm: 1 }, [{ at: T0, tokens: 0 }]);
    const slots = snapshot({ concurrency: 2 }, [], {
      key: 'c',
      openLeaseExpiries: [T0 + 70_000, T0 + 90_000],
    });
    const decision = decideAdmission([snapshot({ rpm: 10 }), full, slots], 0, T0 + 1_000);
    expect(decision).toEqual({
      admitted: false,
      retryAfterMs: 69_000,
      blockedBy: [
        { bucket: 'b', limit: 'rpm', retryAt: T0 + 61_000 },
        { bucket: 'c', limit: 'concurrency', retryAt: T0 + 70_000 },
      ],
    });
  });

  it('needs as many leases to end as the bucket is over its concurrency', () => {
    const over = snapshot({ concurrency: 1 }, [], { openLeaseExpiries: [10, 20, 30] });
    expect(blocksOf(over, 0, 5)).toEqual([{ bucket: 'b', limit: 'concurrency', retryAt: 30 }]);
    expect(blocksOf(snapshot({ concurrency: 0 }), 0, 5)).toEqual([
      { bucket: 'b', limit: 'concurrency', retryAt: null },
    ]);
  });

  it('no 61 s interval ever holds more than RPM/TPM, days hold RPD/TPD, and retry times are exact', () => {
    const limits = fc.record({
      rpm: fc.integer({ min: 1, max: 8 }),
      tpm: fc.integer({ min: 50, max: 500 }),
      rpd: fc.integer({ min: 5, max: 60 }),
    });
    const steps = fc.array(
      fc.record({
        gap: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 70_000 })),
        tokens: fc.integer({ min: 0, max: 120 }),
        // a refused request waits its retry time and tries again
        retry: fc.boolean(),
        // how long after its admission the call reaches Groq (under the 1 s guard band)
        delay: fc.integer({ min: 0, max: RATE_GUARD_MS - 1 }),
      }),
      { maxLength: 80 },
    );
    fc.assert(
      fc.property(limits, steps, (limit, plan) => {
        let day = noDay;
        const log: Admission[] = [];
        let now = T0;
        let today = 0;
        const arrivals: Admission[] = [];
        const at = (time: number, tokens: number) =>
          decideAdmission([snapshot(limit, log, { day })], tokens, time);
        const admit = (time: number, tokens: number, delay: number) => {
          log.push({ at: time, tokens });
          arrivals.push({ at: time + delay, tokens });
          day = admitIntoDay(day, tokens, time);
          if (windowStart(time, DAY_MS) === windowStart(T0, DAY_MS)) today++;
        };
        for (const step of plan) {
          now += step.gap;
          const decision = at(now, step.tokens);
          if (decision.admitted) {
            admit(now, step.tokens, step.delay);
            continue;
          }
          if (decision.retryAfterMs === null) {
            expect(step.tokens).toBeGreaterThan(limit.tpm);
            continue;
          }
          // exactly at the retry time it fits; one millisecond earlier it does not
          const retryAt = now + decision.retryAfterMs;
          expect(decision.retryAfterMs).toBeGreaterThan(0);
          expect(at(retryAt, step.tokens).admitted).toBe(true);
          expect(at(retryAt - 1, step.tokens).admitted).toBe(false);
          if (step.retry) {
            now = retryAt;
            admit(now, step.tokens, step.delay);
          }
        }
        const worst = worstMinute(log);
        expect(worst.requests).toBeLessThanOrEqual(limit.rpm);
        expect(worst.tokens).toBeLessThanOrEqual(limit.tpm);
        expect(today).toBeLessThanOrEqual(limit.rpd);
        // each call reaching Groq up to (just under) 1 s after its admission: no 60 s at Groq is over
        const atGroq = worstMinute(arrivals, MINUTE_MS);
        expect(atGroq.requests).toBeLessThanOrEqual(limit.rpm);
        expect(atGroq.tokens).toBeLessThanOrEqual(limit.tpm);
      }),
      { numRuns: 400 },
    );
  });

  it('two buckets at once: every 61 s interval of both stays within its limit (all or none)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 15_000 }), both: fc.boolean() }), {
          maxLength: 60,
        }),
        (rpmA, rpmB, plan) => {
          const logA: Admission[] = [];
          const logB: Admission[] = [];
          let now = T0;
          for (const step of plan) {
            now += step.gap;
            const buckets = [snapshot({ rpm: rpmA }, logA, { key: 'a' })];
            if (step.both) buckets.push(snapshot({ rpm: rpmB }, logB, { key: 'b' }));
            const decision = decideAdmission(buckets, 0, now);
            if (!decision.admitted) continue;
            logA.push({ at: now, tokens: 0 });
            if (step.both) logB.push({ at: now, tokens: 0 });
          }
          expect(worstMinute(logA).requests).toBeLessThanOrEqual(rpmA);
          expect(worstMinute(logB).requests).toBeLessThanOrEqual(rpmB);
        },
      ),
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
    const blocked = snapshot({}, [], { upstream: { tokens: null, requests: null, blockedUntil: 5_000 } });
    expect(blocksOf(blocked, 0, 4_999)).toEqual([
      { bucket: 'b', limit: 'upstream_retry_after', retryAt: 5_000 },
    ]);
    expect(blocksOf(blocked, 0, 5_000)).toEqual([]);
  });
});
