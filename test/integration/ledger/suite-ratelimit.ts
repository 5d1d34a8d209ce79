/** Shared rate limits: windows, concurrency, all-or-nothing, retry times, corrections, upstream feedback, races. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, MINUTE_MS, MINUTE_WINDOW_MS, type RateLimits } from '../../../ledger/rate-math';
import type { AcquireInput, AcquireResult } from '../../../ledger/ratelimit';
import type { LedgerStore } from '../../../ledger/store';
import { uniqueNames } from './harness';

/** 2026-11-02T10:00:00Z: on a minute boundary, 10 hours into a UTC day */
const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const NEXT_DAY = Date.UTC(2026, 10, 3);

/** The most admissions (and tokens) in any interval [s, s + 61 s): the minute and its 1 s guard band. */
function worstMinute(admitted: { at: number; tokens: number }[]): { requests: number; tokens: number } {
  let requests = 0;
  let tokens = 0;
  for (const first of admitted) {
    const inside = admitted.filter((a) => a.at >= first.at && a.at < first.at + MINUTE_WINDOW_MS);
    requests = Math.max(requests, inside.length);
    tokens = Math.max(
      tokens,
      inside.reduce((sum, a) => sum + a.tokens, 0),
    );
  }
  return { requests, tokens };
}

export function rateLimitTests(ledger: () => LedgerStore): void {
  describe('rate limits', () => {
    let leaseCounter = 0;
    function acquirer(store: LedgerStore, buckets: { key: string; limits: RateLimits }[]) {
      return (now: number, tokens = 0, overrides: Partial<AcquireInput> = {}): Promise<AcquireResult> =>
        store.tryAcquire({
          buckets,
          tokens,
          now,
          leaseId: `lease-${++leaseCounter}-${Math.random().toString(36).slice(2)}`,
          leaseTtlMs: 30_000,
          ...overrides,
        });
    }

    it('RPM: admits up to the limit in any 61 s and says when the oldest admission leaves', async () => {
      const t = uniqueNames('rpm');
      const store = ledger();
      const key = t.bucket('team');
      const acquire = acquirer(store, [{ key, limits: { rpm: 3 } }]);
      for (const offset of [0, 1_000, 2_000]) expect((await acquire(T0 + offset)).admitted).toBe(true);
      const refused = await acquire(T0 + 15_000);
      // an admission counts 61 s (60 s and the 1 s guard band): the first one leaves at T0 + 61 s
      expect(refused).toEqual({
        admitted: false,
        retryAfterMs: 46_000,
        blockedBy: [{ bucket: key, limit: 'rpm', retryAt: T0 + 61_000 }],
      });
      expect((await acquire(T0 + MINUTE_MS)).admitted).toBe(false);
      expect((await acquire(T0 + 60_999)).admitted).toBe(false);
      expect((await acquire(T0 + 61_000)).admitted).toBe(true);
      // the window slides: T0 + 1 s and T0 + 2 s still count, so the next slot opens at T0 + 62 s
      expect(await acquire(T0 + 61_001)).toMatchObject({ admitted: false, retryAfterMs: 999 });
      expect((await store.getRateBucket(key, T0 + 61_000))?.windows).toMatchObject({
        minuteStart: T0 + 1,
        minuteRequests: 3,
        dayRequests: 4,
      });
      expect((await acquire(T0 + 62_000)).admitted).toBe(true);
    });

    it('RPM and TPM slide: no burst of twice the limit across a clock minute boundary', async () => {
      const t = uniqueNames('boundary');
      const store = ledger();
      const rpmKey = t.bucket('rpm');
      const tpmKey = t.bucket('tpm');
      const requests = acquirer(store, [{ key: rpmKey, limits: { rpm: 3 } }]);
      for (let n = 0; n < 3; n++) expect((await requests(T0 + 59_000 + n)).admitted).toBe(true);
      // a fixed window would open at T0 + 60 s; the sliding one waits for T0 + 59 s to leave (61 s later)
      expect(await requests(T0 + MINUTE_MS)).toMatchObject({
        admitted: false,
        retryAfterMs: 60_000,
        blockedBy: [{ bucket: rpmKey, limit: 'rpm', retryAt: T0 + 120_000 }],
      });
      expect((await requests(T0 + 119_999)).admitted).toBe(false);
      expect((await requests(T0 + 120_000)).admitted).toBe(true);

      const tokens = acquirer(store, [{ key: tpmKey, limits: { tpm: 100 } }]);
      expect((await tokens(T0 + 50_000, 30)).admitted).toBe(true);
      expect((await tokens(T0 + 55_000, 50)).admitted).toBe(true);
      // 70 tokens need the first 30 and the 50 to leave: T0 + 55 s + 61 s
      expect(await tokens(T0 + 70_000, 70)).toMatchObject({ admitted: false, retryAfterMs: 46_000 });
      expect(await tokens(T0 + 70_000, 50)).toMatchObject({ admitted: false, retryAfterMs: 41_000 });
      expect((await tokens(T0 + 70_000, 20)).admitted).toBe(true);
      expect((await tokens(T0 + 115_999, 80)).admitted).toBe(false);
      expect((await tokens(T0 + 116_000, 80)).admitted).toBe(true);
    });

    it('property: random arrivals never put more than the limits in any 61 s, retry times are exact', async () => {
      const store = ledger();
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 50, max: 300 }),
          fc.array(
            fc.record({
              gap: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 70_000 })),
              tokens: fc.integer({ min: 0, max: 120 }),
            }),
            { minLength: 1, maxLength: 25 },
          ),
          async (rpm, tpm, plan) => {
            const t = uniqueNames('prop');
            const buckets = [
              { key: t.bucket('team'), limits: { rpm } },
              { key: t.bucket('model'), limits: { tpm } },
            ];
            const acquire = acquirer(store, buckets);
            const admitted: { at: number; tokens: number }[] = [];
            let now = T0;
            for (const step of plan) {
              now += step.gap;
              const result = await acquire(now, step.tokens);
              if (result.admitted) {
                admitted.push({ at: now, tokens: step.tokens });
                continue;
              }
              if (result.retryAfterMs === null) {
                expect(step.tokens).toBeGreaterThan(tpm);
                continue;
              }
              // a refusal changes nothing, so probing 1 ms early is free; then the caller retries on time
              const retryAt = now + result.retryAfterMs;
              expect((await acquire(retryAt - 1, step.tokens)).admitted).toBe(false);
              now = retryAt;
              expect((await acquire(now, step.tokens)).admitted).toBe(true);
              admitted.push({ at: now, tokens: step.tokens });
            }
            const worst = worstMinute(admitted);
            expect(worst.requests).toBeLessThanOrEqual(rpm);
            expect(worst.tokens).toBeLessThanOrEqual(tpm);
          },
        ),
        { numRuns: 15 },
      );
    });

    it('TPM: counts tokens per minute and refuses a request larger than the limit for good', async () => {
      const t = uniqueNames('tpm');
      const store = ledger();
      const acquire = acquirer(store, [{ key: t.bucket('model'), limits: { tpm: 100 } }]);
      expect((await acquire(T0, 60)).admitted).toBe(true);
      expect(await acquire(T0 + 10, 41)).toMatchObject({ admitted: false, retryAfterMs: 61_000 - 10 });
      expect((await acquire(T0 + 20, 40)).admitted).toBe(true);
      expect((await acquire(T0 + 30, 0)).admitted).toBe(true);
      expect(await acquire(T0 + 40, 101)).toMatchObject({
        admitted: false,
        retryAfterMs: null,
        blockedBy: [{ limit: 'tpm', retryAt: null }],
      });
    });

    it('RPD and TPD: daily windows reopen at the next UTC midnight', async () => {
      const t = uniqueNames('daily');
      const store = ledger();
      const acquire = acquirer(store, [
        { key: t.bucket('a'), limits: { rpd: 2 } },
        { key: t.bucket('b'), limits: { tpd: 1_000 } },
      ]);
      expect((await acquire(T0, 400)).admitted).toBe(true);
      expect((await acquire(T0 + 5 * MINUTE_MS, 600)).admitted).toBe(true);
      const refused = await acquire(T0 + 2 * 3_600_000, 1);
      expect(refused).toMatchObject({ admitted: false, retryAfterMs: NEXT_DAY - (T0 + 2 * 3_600_000) });
      expect(refused.admitted === false && refused.blockedBy.map((b) => b.limit).sort()).toEqual([
        'rpd',
        'tpd',
      ]);
      expect((await acquire(NEXT_DAY, 1_000)).admitted).toBe(true);
      expect(NEXT_DAY - T0).toBeLessThan(DAY_MS);
    });

    it('concurrency: leases hold slots until released or expired', async () => {
      const t = uniqueNames('concurrency');
      const store = ledger();
      const key = t.bucket('team');
      const acquire = acquirer(store, [{ key, limits: { concurrency: 2 } }]);
      expect(await acquire(T0, 0, { leaseId: t.id('a'), leaseTtlMs: 10_000 })).toMatchObject({
        admitted: true,
      });
      expect(await acquire(T0 + 1_000, 0, { leaseId: t.id('b'), leaseTtlMs: 5_000 })).toMatchObject({
        admitted: true,
        expiresAt: T0 + 6_000,
      });
      // the earliest slot to free is lease b at T0 + 6s
      expect(await acquire(T0 + 2_000)).toMatchObject({ admitted: false, retryAfterMs: 4_000 });
      expect(await store.releaseLease(t.id('a'), T0 + 3_000)).toBe(true);
      expect(await store.releaseLease(t.id('a'), T0 + 3_000)).toBe(false);
      expect(await acquire(T0 + 3_000, 0, { leaseId: t.id('c'), leaseTtlMs: 60_000 })).toMatchObject({
        admitted: true,
      });
      expect((await acquire(T0 + 5_999)).admitted).toBe(false);
      // lease b was never released (its worker died): it frees itself at expiry
      expect((await acquire(T0 + 6_000)).admitted).toBe(true);
      expect((await store.getRateBucket(key, T0 + 6_000))?.openLeases).toBe(2);
    });

    it('all or nothing: a request blocked by one bucket is counted in none', async () => {
      const t = uniqueNames('atomic');
      const store = ledger();
      const roomy = t.bucket('roomy');
      const full = t.bucket('full');
      await acquirer(store, [{ key: full, limits: { rpm: 1 } }])(T0, 10);
      const acquire = acquirer(store, [
        { key: roomy, limits: { rpm: 100, tpm: 10_000, concurrency: 10 } },
        { key: full, limits: { rpm: 1 } },
      ]);
      const refused = await acquire(T0 + 1, 10);
      expect(refused).toMatchObject({ admitted: false, blockedBy: [{ bucket: full, limit: 'rpm' }] });
      const state = await store.getRateBucket(roomy, T0 + 1);
      expect(state?.windows).toMatchObject({ minuteRequests: 0, minuteTokens: 0, dayRequests: 0 });
      expect(state?.openLeases).toBe(0);
      expect((await acquire(T0 + MINUTE_MS, 10)).admitted).toBe(false);
      expect((await acquire(T0 + 61_000, 10)).admitted).toBe(true);
      expect((await store.getRateBucket(roomy, T0 + 61_000))?.windows.minuteRequests).toBe(1);
    });

    it('retryAfterMs is the earliest instant every bucket fits: refused 1 ms before, admitted at it', async () => {
      const t = uniqueNames('retry');
      const store = ledger();
      const buckets = [
        { key: t.bucket('rpm'), limits: { rpm: 1 } },
        { key: t.bucket('slots'), limits: { concurrency: 1 } },
      ];
      const acquire = acquirer(store, buckets);
      // the slot is held 90 s, past the end of the minute window
      expect((await acquire(T0 + 5_000, 0, { leaseTtlMs: 90_000 })).admitted).toBe(true);
      const refused = await acquire(T0 + 10_000);
      expect(refused).toMatchObject({ admitted: false, retryAfterMs: 85_000 });
      expect(refused.admitted === false && refused.blockedBy.map((b) => b.limit)).toEqual([
        'rpm',
        'concurrency',
      ]);
      expect((await acquire(T0 + 10_000 + 85_000 - 1)).admitted).toBe(false);
      expect((await acquire(T0 + 10_000 + 85_000)).admitted).toBe(true);
    });

    it('a lease id is admitted once: repeating it does not count twice', async () => {
      const t = uniqueNames('lease-idem');
      const store = ledger();
      const key = t.bucket('team');
      const acquire = acquirer(store, [{ key, limits: { rpm: 5, concurrency: 5 } }]);
      const first = await acquire(T0, 10, { leaseId: t.id('x') });
      const again = await acquire(T0 + 5, 10, { leaseId: t.id('x') });
      expect(first).toMatchObject({ admitted: true, replayed: false });
      expect(again).toMatchObject({ admitted: true, replayed: true, expiresAt: T0 + 30_000 });
      const state = await store.getRateBucket(key, T0 + 5);
      expect(state?.windows).toMatchObject({ minuteRequests: 1, minuteTokens: 10 });
      expect(state?.openLeases).toBe(1);
    });

    it('corrects the estimate with the actual tokens, once, in the window it was counted in', async () => {
      const t = uniqueNames('correct');
      const store = ledger();
      const key = t.bucket('model');
      const acquire = acquirer(store, [{ key, limits: { tpm: 1_000, tpd: 10_000 } }]);
      await acquire(T0, 800, { leaseId: t.id('a') });
      expect((await acquire(T0 + 1, 300)).admitted).toBe(false);
      expect(await store.correctTokens({ leaseId: t.id('a'), actualTokens: 150 })).toEqual({
        delta: -650,
        applied: true,
      });
      expect(await store.correctTokens({ leaseId: t.id('a'), actualTokens: 150 })).toEqual({
        delta: 0,
        applied: false,
      });
      expect((await store.getRateBucket(key, T0 + 2))?.windows).toMatchObject({
        minuteTokens: 150,
        dayTokens: 150,
      });
      expect((await acquire(T0 + 3, 300, { leaseId: t.id('b') })).admitted).toBe(true);

      // the corrected admission keeps its time: at T0 + 61 s lease a has left, b (T0 + 3 ms) still counts
      await acquire(T0 + 61_000, 100, { leaseId: t.id('c') });
      expect(await store.correctTokens({ leaseId: t.id('b'), actualTokens: 500 })).toMatchObject({
        delta: 200,
      });
      expect((await store.getRateBucket(key, T0 + 61_000))?.windows).toMatchObject({
        minuteTokens: 500 + 100,
        dayTokens: 150 + 500 + 100,
      });
      expect((await acquire(T0 + 61_001, 401)).admitted).toBe(false);
      expect((await acquire(T0 + 61_003, 400)).admitted).toBe(true);
      expect(await store.correctTokens({ leaseId: t.id('unknown'), actualTokens: 1 })).toEqual({
        delta: 0,
        applied: false,
      });
    });

    it('keeps per-second totals equal to the sliding log, whatever writes it', async () => {
      const t = uniqueNames('seconds');
      const store = ledger();
      const keys = [t.bucket('a'), t.bucket('b')];
      const acquire = acquirer(
        store,
        keys.map((key) => ({ key, limits: { rpm: 1_000, tpm: 1_000_000 } })),
      );
      const totals = async () => {
        const seconds = await store.sql.query<{
          bucket: string;
          second: string;
          requests: string;
          tokens: string;
        }>(
          `SELECT bucket, second::text, requests::text, tokens::text FROM rate_admission_seconds
            WHERE bucket = ANY($1::text[]) ORDER BY bucket, second`,
          [keys],
        );
        const log = await store.sql.query<{
          bucket: string;
          second: string;
          requests: string;
          tokens: string;
        }>(
          `SELECT bucket, floor(at / 1000.0)::bigint::text AS second, count(*)::text AS requests,
                  sum(tokens)::text AS tokens
             FROM rate_admissions WHERE bucket = ANY($1::text[]) GROUP BY 1, 2 ORDER BY 1, 2`,
          [keys],
        );
        return { seconds: seconds.rows, log: log.rows };
      };
      // admissions in several seconds, some in the same one, with different tokens
      const offsets = [0, 1, 999, 1_000, 1_500, 2_999, 59_000, 61_000, 61_999, 62_000];
      for (const [index, offset] of offsets.entries()) {
        const admitted = await acquire(T0 + offset, 10 * (index + 1), { leaseId: t.id(`l${index}`) });
        expect(admitted.admitted).toBe(true);
      }
      let state = await totals();
      expect(state.seconds.length).toBeGreaterThan(4);
      expect(state.seconds).toEqual(state.log);
      // token corrections move the totals of their seconds
      await store.correctTokens({ leaseId: t.id('l2'), actualTokens: 7 });
      await store.correctTokens({ leaseId: t.id('l8'), actualTokens: 500 });
      state = await totals();
      expect(state.seconds).toEqual(state.log);
      // any other change (none of the ledger's own writes moves a row in time) is kept right too
      await store.sql.query(
        'UPDATE rate_admissions SET at = at + 5000, tokens = tokens + 1 WHERE lease_id = $1',
        [t.id('l9')],
      );
      state = await totals();
      expect(state.seconds).toEqual(state.log);
      // pruning removes rows and empties seconds; an emptied second is gone
      await store.purgeRateLeases(T0 + 1_600);
      state = await totals();
      expect(state.seconds).toEqual(state.log);
      // T0 and T0 + 1 s held only rows before the cut: gone; T0 + 2 s keeps its one row per bucket
      const at = (offset: number) => state.seconds.filter((row) => Number(row.second) * 1000 === T0 + offset);
      expect(at(0)).toEqual([]);
      expect(at(1_000)).toEqual([]);
      expect(at(2_000).map((row) => row.requests)).toEqual(['1', '1']);
      // the window's first second counts only its rows inside the window: three admissions in the
      // second T0; at T0 + 61.6 s the window starts after T0 + 0.6 s, so only the one at T0 + 0.9 s counts
      const rpmKey = t.bucket('rpm');
      const rpm = acquirer(store, [{ key: rpmKey, limits: { rpm: 3 } }]);
      for (const offset of [100, 600, 900]) expect((await rpm(T0 + offset)).admitted).toBe(true);
      expect((await rpm(T0 + 61_600)).admitted).toBe(true);
      expect((await rpm(T0 + 61_600)).admitted).toBe(true);
      expect(await rpm(T0 + 61_600)).toMatchObject({ admitted: false, retryAfterMs: 300 });
    });

    it('respects what Groq said: remaining tokens with refill, and retry-after', async () => {
      const t = uniqueNames('upstream');
      const store = ledger();
      const model = t.id('llama');
      const key = `model:${model}`;
      const acquire = acquirer(store, [{ key, limits: { tpm: 100_000 } }]);
      // 6000 TPM, 200 left, full again in 58.000 s: refills (6000 - 200) / 58000 = 0.1 token per ms
      const state = await store.recordUpstreamHeaders(
        model,
        {
          'x-ratelimit-limit-tokens': '6000',
          'x-ratelimit-remaining-tokens': '200',
          'x-ratelimit-reset-tokens': '58s',
          'x-ratelimit-limit-requests': '14400',
          'x-ratelimit-remaining-requests': '14000',
          'x-ratelimit-reset-requests': '2m46.5s',
        },
        T0,
      );
      expect(state.tokens).toEqual({
        observedAt: T0,
        limit: 6000,
        remaining: 200,
        resetAt: T0 + 58_000,
        consumed: 0,
      });
      expect(state.requests).toMatchObject({ remaining: 14000, resetAt: T0 + 166_500 });

      expect((await acquire(T0, 150)).admitted).toBe(true);
      // 50 left; 250 more need 200 refilled: 2000 ms after the observation
      const refused = await acquire(T0 + 500, 250);
      expect(refused).toMatchObject({
        admitted: false,
        retryAfterMs: 1_500,
        blockedBy: [{ bucket: key, limit: 'upstream_tokens', retryAt: T0 + 2_000 }],
      });
      expect((await acquire(T0 + 1_999, 250)).admitted).toBe(false);
      expect((await acquire(T0 + 2_000, 250)).admitted).toBe(true);

      // a 429 with retry-after blocks every caller of this model for that long
      await store.recordUpstreamHeaders(model, { 'retry-after': '7' }, T0 + 3_000);
      expect(await acquire(T0 + 4_000, 0)).toMatchObject({
        admitted: false,
        retryAfterMs: 6_000,
        blockedBy: [{ limit: 'upstream_retry_after' }],
      });
      // an older response arriving late neither replaces the newer observation nor shortens the block
      const stale = await store.recordUpstreamHeaders(
        model,
        { 'x-ratelimit-remaining-tokens': '6000', 'x-ratelimit-reset-tokens': '1s', 'retry-after': '1' },
        T0 - 1_000,
      );
      expect(stale.tokens?.observedAt).toBe(T0);
      expect(stale.blockedUntil).toBe(T0 + 10_000);
      expect((await acquire(T0 + 10_000, 0)).admitted).toBe(true);
      // after the reset time the observation no longer constrains
      expect((await acquire(T0 + 58_000, 5_000)).admitted).toBe(true);
    });

    it('concurrent acquirers never exceed a limit (requests, tokens, slots)', async () => {
      const t = uniqueNames('race');
      const store = ledger();
      const rpmKey = t.bucket('rpm');
      const tpmKey = t.bucket('tpm');
      const slotKey = t.bucket('slots');
      const rpm = await Promise.all(
        Array.from({ length: 60 }, () => acquirer(store, [{ key: rpmKey, limits: { rpm: 17 } }])(T0 + 1, 0)),
      );
      expect(rpm.filter((r) => r.admitted)).toHaveLength(17);

      const sizes = Array.from({ length: 60 }, (_, n) => 50 + ((n * 37) % 200));
      const tpm = await Promise.all(
        sizes.map((tokens) => acquirer(store, [{ key: tpmKey, limits: { tpm: 2_000 } }])(T0 + 2, tokens)),
      );
      const admittedTokens = sizes.filter((_, n) => tpm[n]?.admitted).reduce((a, b) => a + b, 0);
      expect(admittedTokens).toBeLessThanOrEqual(2_000);
      expect(admittedTokens).toBeGreaterThan(2_000 - 250);
      expect((await store.getRateBucket(tpmKey, T0 + 2))?.windows.minuteTokens).toBe(admittedTokens);

      const slots = await Promise.all(
        Array.from({ length: 40 }, () =>
          acquirer(store, [
            { key: slotKey, limits: { concurrency: 5 } },
            { key: rpmKey + '-other', limits: { rpm: 1_000 } },
          ])(T0 + 3, 0),
        ),
      );
      expect(slots.filter((r) => r.admitted)).toHaveLength(5);
      expect((await store.getRateBucket(slotKey, T0 + 3))?.openLeases).toBe(5);
    });

    it('concurrent acquirers spread over minutes never put more than RPM/TPM in any 61 s', async () => {
      const t = uniqueNames('race-sliding');
      const store = ledger();
      const buckets = [
        { key: t.bucket('team'), limits: { rpm: 7 } },
        { key: t.bucket('model'), limits: { tpm: 600 } },
      ];
      const arrivals = Array.from({ length: 120 }, (_, n) => ({
        at: T0 + ((n * 7_919) % 150_000),
        tokens: 20 + ((n * 31) % 90),
      }));
      const results = await Promise.all(
        arrivals.map((a) => acquirer(store, buckets)(a.at, a.tokens).then((r) => ({ ...a, r }))),
      );
      const admitted = results.filter((x) => x.r.admitted);
      expect(admitted.length).toBeGreaterThan(0);
      const worst = worstMinute(admitted);
      expect(worst.requests).toBeLessThanOrEqual(7);
      expect(worst.tokens).toBeLessThanOrEqual(600);
    });

    it('purges leases that ended long ago', async () => {
      const t = uniqueNames('purge');
      const store = ledger();
      const acquire = acquirer(store, [{ key: t.bucket('x'), limits: {} }]);
      await acquire(T0, 0, { leaseId: t.id('old'), leaseTtlMs: 1_000 });
      await acquire(T0 + DAY_MS, 0, { leaseId: t.id('new'), leaseTtlMs: 1_000 });
      const purged = await store.purgeRateLeases(T0 + 2_000);
      expect(purged).toBeGreaterThanOrEqual(1);
      const { rows } = await store.sql.query(
        'SELECT lease_id FROM rate_leases WHERE lease_id = ANY($1::text[])',
        [[t.id('old'), t.id('new')]],
      );
      expect(rows).toEqual([{ lease_id: t.id('new') }]);
    });
  });
}
