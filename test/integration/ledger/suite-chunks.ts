/**
 * The per-chunk ledger work of batch items: `reserveMany`, `tryAcquireMany` and `bookCompletionsIn`
 * decide and write exactly what the one-item functions (`reserve`, `tryAcquire`, `bookCompletion`) one
 * after the other would, are idempotent per reservation and lease, and never hold more than a budget
 * nor admit more than a limit when chunks race each other.
 */
import { describe, expect, it } from 'vitest';
import { bookCompletionsIn } from '../../../ledger/chunk-booking';
import { tryAcquireMany } from '../../../ledger/chunk-admission';
import { reserveMany, type ChunkReserveItem } from '../../../ledger/chunk-reserve';
import type { LedgerStore } from '../../../ledger/store';
import type { UsageAttempt } from '../../../ledger/usage';
import { uniqueNames } from './harness';

/** 2026-11-02T10:00:00Z */
const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);

export function chunkTests(ledger: () => LedgerStore): void {
  describe('per-chunk ledger work', () => {
    const items = (t: ReturnType<typeof uniqueNames>, amounts: bigint[], from = 0): ChunkReserveItem[] =>
      amounts.map((amount, n) => ({
        reservationId: t.id(`res-${from + n}`),
        requestId: t.id(`req-${from + n}`),
        amount,
      }));

    it('reserves a chunk exactly as one reserve after another would, and records its refusals', async () => {
      const store = ledger();
      const amounts = [30n, 50n, 25n, 15n, 5n, 40n];
      const chunk = uniqueNames('chunk-fit');
      const single = uniqueNames('single-fit');
      const together = await reserveMany(store.sql, {
        team: chunk.team('t'),
        period: chunk.period,
        teamLimit: 100n,
        orgLimit: 1000n,
        items: items(chunk, amounts),
        at: new Date(T0),
      });
      const alone: Awaited<ReturnType<LedgerStore['reserve']>>[] = [];
      for (const item of items(single, amounts)) {
        alone.push(
          await store.reserve({
            ...item,
            team: single.team('t'),
            period: single.period,
            teamLimit: 100n,
            orgLimit: 1000n,
          }),
        );
      }
      const shape = (r: (typeof together)[number] | (typeof alone)[number]) =>
        r.ok
          ? { ok: true, amount: r.reservation.amount }
          : { ok: false, reason: r.reason, remaining: r.remaining };
      expect(together.map(shape)).toEqual(alone.map(shape));
      // 30 + 50 held, 25 refused (20 left), 15 and 5 held, 40 refused (0 left)
      expect(together.map((r) => r.ok)).toEqual([true, true, false, true, true, false]);
      expect((await store.getTeamSpend(chunk.team('t'), chunk.period)).held).toBe(100n);
      expect((await store.getSpend('org', chunk.period)).held).toBe(100n);
      expect(await store.refusalCounts({ period: chunk.period })).toEqual([
        { reason: 'budget_exceeded', count: 2n },
      ]);
    });

    it('is idempotent per reservation id: a chunk run again holds nothing twice, with the one-item path too', async () => {
      const store = ledger();
      const t = uniqueNames('chunk-idem');
      // one item reserved on its own before the chunk
      await store.reserve({
        reservationId: t.id('res-1'),
        requestId: t.id('req-1'),
        team: t.team('t'),
        period: t.period,
        amount: 20n,
        teamLimit: 100n,
        orgLimit: 1000n,
      });
      const input = {
        team: t.team('t'),
        period: t.period,
        teamLimit: 100n,
        orgLimit: 1000n,
        items: items(t, [20n, 20n, 20n]),
        at: new Date(T0),
      };
      const first = await reserveMany(store.sql, input);
      expect(first.map((r) => r.replayed)).toEqual([false, true, false]);
      const again = await reserveMany(store.sql, input);
      expect(again.every((r) => r.ok && r.replayed)).toBe(true);
      expect((await store.getTeamSpend(t.team('t'), t.period)).held).toBe(60n);
    });

    it('never holds more than the budget when chunks race, overlapping ids included', async () => {
      const store = ledger();
      const t = uniqueNames('chunk-race');
      const amount = 1_234_567_891n;
      const limit = amount * 50n;
      // 12 chunks of 20 items; chunk k covers ids 10k .. 10k+19, so neighbours share 10 ids
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, k) =>
          reserveMany(store.sql, {
            team: t.team('t'),
            period: t.period,
            teamLimit: limit,
            orgLimit: limit * 10n,
            items: items(
              t,
              Array.from({ length: 20 }, () => amount),
              10 * k,
            ),
            at: new Date(T0),
          }),
        ),
      );
      const held = await store.listReservations({ period: t.period, states: ['held'] });
      expect(held).toHaveLength(50);
      expect((await store.getTeamSpend(t.team('t'), t.period)).held).toBe(limit);
      expect((await store.getSpend('org', t.period)).held).toBe(limit);
      // every id has one outcome, whichever chunk decided it
      const byId = new Map<string, boolean>();
      for (const outcome of outcomes.flat()) {
        const known = byId.get(outcome.reservation.id);
        if (known !== undefined) expect(outcome.ok).toBe(known);
        byId.set(outcome.reservation.id, outcome.ok);
      }
      expect(byId.size).toBe(130);
    });

    it('admits a chunk as one tryAcquire after another would, in order, and replays its leases', async () => {
      const store = ledger();
      const t = uniqueNames('chunk-admit');
      const limits = { rpm: 10, tpm: 10_000, concurrency: 8 };
      const requests = Array.from({ length: 12 }, (_, n) => ({
        leaseId: t.id(`lease-${n}`),
        tokens: 100 + n,
      }));
      const together = await tryAcquireMany(store.sql, {
        buckets: [{ key: t.bucket('team'), limits }],
        requests,
        now: T0,
        leaseTtlMs: 60_000,
      });
      const alone: Awaited<ReturnType<LedgerStore['tryAcquire']>>[] = [];
      for (const request of requests) {
        alone.push(
          await store.tryAcquire({
            buckets: [{ key: t.bucket('single'), limits }],
            tokens: request.tokens,
            now: T0,
            leaseId: `single-${request.leaseId}`,
            leaseTtlMs: 60_000,
          }),
        );
      }
      // 8 admitted (concurrency), then the 9th waits (and the rest after it, in order)
      expect(together.map((r) => r.admitted)).toEqual(alone.map((r) => r.admitted));
      expect(together.filter((r) => r.admitted)).toHaveLength(8);
      const wait = together[8]!;
      const single = alone[8]!;
      expect(!wait.admitted && !single.admitted && wait.retryAfterMs === single.retryAfterMs).toBe(true);
      const row = (key: string) =>
        store.sql.query('SELECT day_requests, day_tokens FROM rate_buckets WHERE bucket = $1', [key]);
      expect((await row(t.bucket('team'))).rows).toEqual((await row(t.bucket('single'))).rows);

      const again = await tryAcquireMany(store.sql, {
        buckets: [{ key: t.bucket('team'), limits }],
        requests: requests.slice(0, 8),
        now: T0 + 1000,
        leaseTtlMs: 60_000,
      });
      expect(again.every((r) => r.admitted && r.replayed)).toBe(true);
      expect((await row(t.bucket('team'))).rows[0]).toMatchObject({ day_requests: expect.anything() });
      expect(Number((await row(t.bucket('team'))).rows[0]!.day_requests)).toBe(8);
    });

    it('tells requests that wait for the minute when they fit, waking the ones within a second together', async () => {
      const store = ledger();
      const t = uniqueNames('chunk-wake');
      const buckets = [{ key: t.bucket('team'), limits: { rpm: 6 } }];
      // the minute filled one request at a time: at T0, T0 + 400 ms, ..., T0 + 2 s
      for (let n = 0; n < 6; n++) {
        const [early] = await tryAcquireMany(store.sql, {
          buckets,
          requests: [{ leaseId: t.id(`early-${n}`), tokens: 1 }],
          now: T0 + n * 400,
          leaseTtlMs: 60_000,
        });
        expect(early!.admitted).toBe(true);
      }
      const now = T0 + 10_000;
      const waiting = Array.from({ length: 4 }, (_, n) => ({ leaseId: t.id(`late-${n}`), tokens: 1 }));
      const first = await tryAcquireMany(store.sql, { buckets, requests: waiting, now, leaseTtlMs: 60_000 });
      // each fits when one of the first four leaves the window (61 s after it); the first three within a
      // second of each other wake together at the third's time, the fourth on its own
      const leaves = (n: number) => T0 + n * 400 + 61_000 - now;
      expect(first.map((r) => (r.admitted ? 'admitted' : r.retryAfterMs))).toEqual([
        leaves(2),
        leaves(2),
        leaves(2),
        leaves(3),
      ]);
      // at that time one call admits the three, and the fourth waits for its own time
      const woken = await tryAcquireMany(store.sql, {
        buckets,
        requests: waiting,
        now: now + leaves(2),
        leaseTtlMs: 60_000,
      });
      expect(woken.map((r) => r.admitted)).toEqual([true, true, true, false]);
      expect(woken[3]).toMatchObject({ admitted: false, retryAfterMs: leaves(3) - leaves(2) });
    });

    it('never admits more than a limit when chunks race', async () => {
      const store = ledger();
      const t = uniqueNames('chunk-admit-race');
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, k) =>
          tryAcquireMany(store.sql, {
            buckets: [{ key: t.bucket('team'), limits: { rpm: 37 } }],
            requests: Array.from({ length: 10 }, (_, n) => ({ leaseId: t.id(`l-${k}-${n}`), tokens: 1 })),
            now: T0,
            leaseTtlMs: 60_000,
          }),
        ),
      );
      expect(results.flat().filter((r) => r.admitted)).toHaveLength(37);
      const log = await store.sql.query('SELECT count(*) AS n FROM rate_admissions WHERE bucket = $1', [
        t.bucket('team'),
      ]);
      expect(Number(log.rows[0]!.n)).toBe(37);
    });

    it('books a chunk at each item exact cost, once, with its usage rows and the leases ended', async () => {
      const store = ledger();
      const t = uniqueNames('chunk-book');
      const team = t.team('t');
      const model = `m-${t.tag}`;
      const costs = [1_111n, 2_222_222_222n, 3n, 0n];
      await reserveMany(store.sql, {
        team,
        period: t.period,
        teamLimit: null,
        orgLimit: null,
        items: items(
          t,
          costs.map(() => 5_000_000_000n),
        ),
        at: new Date(T0),
      });
      const leaseIds = costs.map((_, n) => t.id(`res-${n}`));
      await tryAcquireMany(store.sql, {
        buckets: [{ key: `team:${team}`, limits: { rpm: 100 } }],
        requests: leaseIds.map((leaseId) => ({ leaseId, tokens: 500 })),
        now: T0,
        leaseTtlMs: 60_000,
      });
      const usage = (n: number): UsageAttempt => ({
        requestId: t.id(`req-${n}`),
        attempt: 1,
        period: t.period,
        team,
        model,
        keyName: 'k',
        keyVersion: 3,
        reservationId: t.id(`res-${n}`),
        promptTokens: 10 + n,
        completionTokens: 5,
        costNanos: costs[n]!,
        outcome: 'success',
        startedAt: new Date(T0),
        finishedAt: new Date(T0 + 50),
      });
      const chunk = costs.map((cost, n) => ({
        reservationId: t.id(`res-${n}`),
        cost,
        usage: usage(n),
        leaseId: leaseIds[n]!,
        actualTokens: 15 + n,
        headers: { 'x-ratelimit-remaining-tokens': '1000', 'x-ratelimit-reset-tokens': '10s' },
      }));
      const booked = await store.sql.transaction((tx) =>
        bookCompletionsIn(tx, { model, items: chunk, now: T0 + 60 }),
      );
      expect(booked.size).toBe(4);
      const total = costs.reduce((a, b) => a + b, 0n);
      expect(await store.getTeamSpend(team, t.period)).toMatchObject({ committed: total, held: 0n });
      const rows = await store.listUsage({ period: t.period });
      expect(rows.map((row) => [row.costNanos, row.keyVersion, row.outcome])).toEqual(
        costs.map((cost) => [cost, 3, 'success']),
      );
      const leases = await store.sql.query(
        'SELECT actual_tokens, released_at FROM rate_leases WHERE lease_id = ANY($1::text[]) ORDER BY lease_id',
        [leaseIds],
      );
      expect(leases.rows.map((row) => [Number(row.actual_tokens), Number(row.released_at)])).toEqual(
        costs.map((_, n) => [15 + n, T0 + 60]),
      );
      // booked again (a chunk run again with the same answers): nothing more
      const again = await store.sql.transaction((tx) =>
        bookCompletionsIn(tx, { model, items: chunk, now: T0 + 90 }),
      );
      expect(again.size).toBe(0);
      expect(await store.getTeamSpend(team, t.period)).toMatchObject({ committed: total, held: 0n });
      expect(await store.listUsage({ period: t.period })).toHaveLength(4);
    });
  });
}
