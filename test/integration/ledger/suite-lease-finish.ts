/**
 * `finishLease` (the booking's two-statement end of a lease) leaves every bucket, lease and sliding-log
 * row exactly as `recordUpstreamHeaders`, `correctTokens` and `releaseLease` one after the other do:
 * the same admissions are made on two twin sets of buckets, one finished each way, and the rows compared.
 * So does `bookCompletion` (the ledger function `governor_book_completion`, one statement), which also
 * settles the reservation and writes the usage row exactly as `settle` and `recordUsage` do.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../ledger/rate-math';
import { finishLease } from '../../../ledger/lease-finish';
import { modelBucket } from '../../../ledger/ratelimit';
import type { LedgerStore } from '../../../ledger/store';
import type { UsageAttempt } from '../../../ledger/usage';
import type { UpstreamObservation } from '../../../ledger/upstream-headers';
import { uniqueNames } from './harness';

/** 2026-11-02T10:00:00Z */
const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const PERIOD = '2026-11';

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
    async function run(scenario: Scenario, way: 'steps' | 'finish' | 'book') {
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
      const reservationId = t.id('reservation');
      const cost = BigInt(scenario.actual) * 1000n;
      await store.reserve({
        reservationId,
        requestId: t.id('request'),
        team: t.tag,
        period: PERIOD,
        amount: 600_000n,
        teamLimit: null,
        orgLimit: null,
      });
      const usage: UsageAttempt = {
        requestId: t.id('request'),
        attempt: 1,
        period: PERIOD,
        team: t.tag,
        model,
        keyName: 'finish-key',
        keyVersion: 2,
        gatewayKeyId: 'gk-finish',
        reservationId,
        promptTokens: scenario.actual,
        completionTokens: 3,
        cachedTokens: 0,
        costNanos: cost,
        upstreamRequestId: 'req_finish',
        httpStatus: 200,
        outcome: 'success',
        startedAt: new Date(T0),
        finishedAt: new Date(now),
      };
      let booked: Awaited<ReturnType<LedgerStore['bookCompletion']>> | undefined;
      if (way === 'book') {
        booked = await store.bookCompletion({
          reservationId,
          cost,
          usage,
          leaseId,
          actualTokens: scenario.actual,
          model,
          headers: scenario.headers,
          now,
        });
      } else {
        const settled = await store.settle(reservationId, cost);
        booked = { booked: settled.changed, ...(settled.spend ? { spend: settled.spend } : {}) };
        await store.recordUsage(usage);
      }
      if (way === 'steps') {
        await store.recordUpstreamHeaders(model, scenario.headers, now);
        await store.correctTokens({ leaseId, actualTokens: scenario.actual });
        await store.releaseLease(leaseId, now);
      } else if (way === 'finish') {
        await store.sql.transaction((tx) =>
          finishLease(tx, { leaseId, model, headers: scenario.headers, actualTokens: scenario.actual, now }),
        );
      }
      const reservation = await store.getReservation(reservationId);
      const team_ = (
        await store.sql.query(
          'SELECT committed_nanos, held_nanos FROM budgets WHERE scope = $1 AND period = $2',
          [`team:${t.tag}`, PERIOD],
        )
      ).rows[0];
      const row = (
        await store.sql.query(
          `SELECT attempt, team = $2 AS same_team, model = $3 AS same_model, key_name, key_version, gateway_key_id,
                reservation_id = $4 AS same_reservation, prompt_tokens, completion_tokens, cached_tokens,
                cost_nanos, batch, upstream_request_id, http_status, outcome, started_at, finished_at,
                endpoint, unit, quantity
           FROM usage_records WHERE request_id = $1`,
          [t.id('request'), t.tag, model, reservationId],
        )
      ).rows;
      return {
        ...(await rowsOf(
          store,
          buckets.map(({ key }) => key),
          leaseId,
        )),
        booked: booked.booked,
        teamSpend: booked.spend?.get(`team:${t.tag}`),
        reservation: { state: reservation?.state, settled: reservation?.settledAmount },
        team: team_,
        usage: row,
      };
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

    it('leaves the same rows as headers, correction and release one after the other (and so does the booking)', async () => {
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
            const steps = await run(scenario, 'steps');
            expect(await run(scenario, 'finish')).toEqual(steps);
            expect(await run(scenario, 'book')).toEqual(steps);
          },
        ),
        { numRuns: 25 },
      );
    });

    it('books an attempt once: a second booking changes nothing, a released reservation cannot be booked', async () => {
      const store = ledger();
      const t = uniqueNames('book-twice');
      const model = `m-${t.tag}`;
      const buckets = [{ key: `team:${t.tag}`, limits: { rpm: 100 } }];
      const book = async (reservationId: string, leaseId: string) => {
        await store.tryAcquire({ buckets, tokens: 10, now: T0, leaseId, leaseTtlMs: 120_000 });
        return store.bookCompletion({
          reservationId,
          cost: 5000n,
          usage: {
            requestId: reservationId,
            attempt: 1,
            period: PERIOD,
            team: t.tag,
            model,
            keyName: 'k',
            keyVersion: 1,
            reservationId,
            promptTokens: 4,
            completionTokens: 3,
            costNanos: 5000n,
            outcome: 'success',
            startedAt: new Date(T0),
          },
          leaseId,
          actualTokens: 7,
          model,
          headers: {},
          now: T0 + 100,
        });
      };
      const reserve = (reservationId: string) =>
        store.reserve({
          reservationId,
          requestId: reservationId,
          team: t.tag,
          period: PERIOD,
          amount: 9000n,
          teamLimit: null,
          orgLimit: null,
        });
      const first = t.id('first');
      await reserve(first);
      expect(await book(first, t.id('lease-1'))).toMatchObject({ booked: true });
      const spend = async () =>
        (
          await store.sql.query('SELECT committed_nanos, held_nanos FROM budgets WHERE scope = $1', [
            `team:${t.tag}`,
          ])
        ).rows[0];
      const after = await spend();
      expect(after).toEqual({ committed_nanos: 5000n, held_nanos: 0n });
      expect(await book(first, t.id('lease-1'))).toEqual({ booked: false });
      expect(await spend()).toEqual(after);
      const released = t.id('released');
      await reserve(released);
      await store.release(released);
      await expect(book(released, t.id('lease-2'))).rejects.toThrow(/released/);
      expect(await spend()).toEqual(after);
      expect((await store.getReservation(released))?.state).toBe('released');
    });
  });
}
