/** Shared rate limits: windows, concurrency, all-or-nothing, retry times, corrections, upstream feedback, races. */
import { describe, expect, it } from 'vitest';
import { DAY_MS, MINUTE_MS, type RateLimits } from '../../../ledger/rate-math';
import type { AcquireInput, AcquireResult } from '../../../ledger/ratelimit';
import type { LedgerStore } from '../../../ledger/store';
import { uniqueNames } from './harness';

/** 2026-11-02T10:00:00Z: on a minute boundary, 10 hours into a UTC day */
const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const NEXT_DAY = Date.UTC(2026, 10, 3);

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

    it('RPM: admits up to the limit per minute window and says when the next window opens', async () => {
      const t = uniqueNames('rpm');
      const store = ledger();
      const key = t.bucket('team');
      const acquire = acquirer(store, [{ key, limits: { rpm: 3 } }]);
      for (const offset of [0, 1_000, 2_000]) expect((await acquire(T0 + offset)).admitted).toBe(true);
      const refused = await acquire(T0 + 15_000);
      expect(refused).toEqual({
        admitted: false,
        retryAfterMs: 45_000,
        blockedBy: [{ bucket: key, limit: 'rpm', retryAt: T0 + MINUTE_MS }],
      });
      expect((await acquire(T0 + MINUTE_MS - 1)).admitted).toBe(false);
      expect((await acquire(T0 + MINUTE_MS)).admitted).toBe(true);
      expect((await store.getRateBucket(key, T0 + MINUTE_MS))?.windows).toMatchObject({
        minuteStart: T0 + MINUTE_MS,
        minuteRequests: 1,
        dayRequests: 4,
      });
    });

    it('TPM: counts tokens per minute and refuses a request larger than the limit for good', async () => {
      const t = uniqueNames('tpm');
      const store = ledger();
      const acquire = acquirer(store, [{ key: t.bucket('model'), limits: { tpm: 100 } }]);
      expect((await acquire(T0, 60)).admitted).toBe(true);
      expect(await acquire(T0 + 10, 41)).toMatchObject({ admitted: false, retryAfterMs: MINUTE_MS - 10 });
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
      expect((await acquire(T0 + MINUTE_MS, 10)).admitted).toBe(true);
      expect((await store.getRateBucket(roomy, T0 + MINUTE_MS))?.windows.minuteRequests).toBe(1);
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

      // a correction that arrives after its minute ended only touches the day window
      await acquire(T0 + MINUTE_MS, 100, { leaseId: t.id('c') });
      expect(await store.correctTokens({ leaseId: t.id('b'), actualTokens: 500 })).toMatchObject({
        delta: 200,
      });
      expect((await store.getRateBucket(key, T0 + MINUTE_MS))?.windows).toMatchObject({
        minuteTokens: 100,
        dayTokens: 150 + 500 + 100,
      });
      expect(await store.correctTokens({ leaseId: t.id('unknown'), actualTokens: 1 })).toEqual({
        delta: 0,
        applied: false,
      });
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
