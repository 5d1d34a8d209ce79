/**
 * `finishLease` (the booking's two-statement end of a lease) leaves every bucket, lease and sliding-log
 * row exactly as `recordUpstreamHeaders`, `correctTokens` and `releaseLease` one after the other do:
 * the same admissions are made on two twin sets of buckets, one finished each way, and the rows compared.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../ledger/rate-math';
import { finishLease } from '../../../ledger/lease-finish';
import { modelBucket } from '../../../ledger/ratelimit';
import type { LedgerStore } from '../../../ledger/store';
import type { UpstreamObservation } from '../../../ledger/upstream-headers';
import { uniqueNames } from './harness';

/** 2026-11-02T10:00:00Z */
const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);

interface Scenario {
  /** an upstream observation on the model's bucket before the admission (counted against it) */
  prior: UpstreamObservation | null;
  estimate: number;
  actual: number;
  headers: UpstreamObservation;
  /** ms after the admission that the call is finished (past a day boundary: no day correction) */
  finishAfter: number;
  /** a second admission of another lease in the same buckets, left open */
  neighbour: boolean;
}

async function rowsOf(store: LedgerStore, buckets: string[], leaseId: string) {
  const strip = (rows: Record<string, unknown>[]) =>
    rows.map(({ bucket, lease_id, ...rest }) => ({
      bucket: String(bucket).split(':')[0],
      lease: lease_id === undefined ? undefined : String(lease_id) === leaseId,
      ...rest,
    }));
  const query = async (text: string) =>
    strip((await store.sql.query(text, [buckets])).rows).sort((a, b) =>
      `${a.bucket}${a.lease}`.localeCompare(`${b.bucket}${b.lease}`),
    );
  return {
    buckets: await query('SELECT * FROM rate_buckets WHERE bucket = ANY($1::text[])'),
    leases: await query(
      'SELECT bucket, lease_id, tokens, acquired_at, expires_at, released_at, actual_tokens, day_start FROM rate_leases WHERE bucket = ANY($1::text[])',
    ),
    log: await query(
      'SELECT bucket, lease_id, at, tokens FROM rate_admissions WHERE bucket = ANY($1::text[])',
    ),
  };
}

export function leaseFinishTests(ledger: () => LedgerStore): void {
  describe('finishing a lease in one lock and one write', () => {
    async function run(scenario: Scenario, way: 'steps' | 'finish') {
      const store = ledger();
      const t = uniqueNames(`finish-${way}`);
      const team = `team:${t.tag}`;
      const model = `m-${t.tag}`;
      const buckets = [
        { key: team, limits: { rpm: 100, tpm: 100_000, concurrency: 10 } },
        { key: modelBucket(model), limits: { rpm: 1000, tpm: 1_000_000 } },
      ];
      if (scenario.prior) await store.recordUpstreamHeaders(model, scenario.prior, T0 - 1000);
      const leaseId = t.id('lease');
      expect(
        (
          await store.tryAcquire({
            buckets,
            tokens: scenario.estimate,
            now: T0,
            leaseId,
            leaseTtlMs: 120_000,
          })
        ).admitted,
      ).toBe(true);
      if (scenario.neighbour) {
        const other = { buckets, tokens: 7, now: T0 + 5, leaseId: t.id('other'), leaseTtlMs: 120_000 };
        expect((await store.tryAcquire(other)).admitted).toBe(true);
      }
      const now = T0 + scenario.finishAfter;
      if (way === 'steps') {
        await store.recordUpstreamHeaders(model, scenario.headers, now);
        await store.correctTokens({ leaseId, actualTokens: scenario.actual });
        await store.releaseLease(leaseId, now);
      } else {
        await store.sql.transaction((tx) =>
          finishLease(tx, { leaseId, model, headers: scenario.headers, actualTokens: scenario.actual, now }),
        );
      }
      return rowsOf(
        store,
        buckets.map(({ key }) => key),
        leaseId,
      );
    }

    const observation = fc.record(
      {
        limitTokens: fc.integer({ min: 1000, max: 100_000 }),
        remainingTokens: fc.integer({ min: 0, max: 1000 }),
        tokensResetMs: fc.integer({ min: 1, max: 60_000 }),
        limitRequests: fc.integer({ min: 10, max: 1000 }),
        remainingRequests: fc.integer({ min: 0, max: 10 }),
        requestsResetMs: fc.integer({ min: 1, max: 60_000 }),
        retryAfterMs: fc.integer({ min: 1, max: 5000 }),
      },
      { requiredKeys: [] },
    );

    it('leaves the same rows as headers, correction and release one after the other', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            // room enough to admit both leases
            prior: fc.option(
              fc.record({
                limitTokens: fc.constant(1_000_000),
                remainingTokens: fc.integer({ min: 2000, max: 1_000_000 }),
                tokensResetMs: fc.integer({ min: 1, max: 60_000 }),
                limitRequests: fc.constant(1000),
                remainingRequests: fc.integer({ min: 10, max: 1000 }),
                requestsResetMs: fc.integer({ min: 1, max: 60_000 }),
              }),
              { nil: null },
            ),
            estimate: fc.integer({ min: 0, max: 500 }),
            actual: fc.integer({ min: 0, max: 500 }),
            headers: observation,
            finishAfter: fc.constantFrom(300, 20_000, DAY_MS),
            neighbour: fc.boolean(),
          }),
          async (scenario) => {
            expect(await run(scenario, 'finish')).toEqual(await run(scenario, 'steps'));
          },
        ),
        { numRuns: 25 },
      );
    });
  });
}
