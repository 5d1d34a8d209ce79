/**
 * The egress journal (ledger/upstream-calls.ts): the egress that begins a call and a run that fences it
 * never both win, answers only land on calls still being sent, sweeps never drop a held attempt's row;
 * and a booking repeated by a recovering run changes nothing.
 */
import { describe, expect, it } from 'vitest';
import type { LedgerStore } from '../../../ledger/store';
import { UpstreamCallJournal } from '../../../ledger/upstream-calls';
import { uniqueNames } from './harness';

export function upstreamCallTests(ledger: () => LedgerStore): void {
  describe('egress journal', () => {
    const journal = () => new UpstreamCallJournal(ledger().sql);
    const answer = {
      status: 200,
      headers: { 'x-request-id': 'req_1' },
      body: '{"object":"chat.completion"}',
    };

    it('begins a call once, keeps its answer, refuses a second begin', async () => {
      const t = uniqueNames('journal-begin');
      const id = t.id('res');
      expect(
        await journal().begin({ reservationId: id, egress: 'egress@a', keyVersion: 3, leaseMs: 60_000 }),
      ).toBe(true);
      expect(
        await journal().begin({ reservationId: id, egress: 'egress@b', keyVersion: 3, leaseMs: 60_000 }),
      ).toBe(false);
      expect(await journal().get(id)).toMatchObject({
        state: 'sending',
        egress: 'egress@a',
        keyVersion: 3,
        leaseLive: true,
      });
      expect(await journal().answer(id, answer)).toBe(true);
      expect(await journal().get(id)).toMatchObject({ state: 'answered', answer });
      // an answer lands once: a later one (a repeat) changes nothing
      expect(await journal().answer(id, { ...answer, body: '{}' })).toBe(false);
      expect((await journal().get(id))?.answer?.body).toBe(answer.body);
    });

    it('a fence keeps the egress from ever beginning the call', async () => {
      const t = uniqueNames('journal-fence');
      const id = t.id('res');
      expect(await journal().fence(id)).toBe(true);
      expect(await journal().fence(id)).toBe(false);
      expect(
        await journal().begin({ reservationId: id, egress: 'egress@a', keyVersion: 0, leaseMs: 60_000 }),
      ).toBe(false);
      expect((await journal().get(id))?.state).toBe('fenced');
    });

    it('of a begin and a fence racing on one attempt, exactly one wins', async () => {
      const t = uniqueNames('journal-race');
      const ids = Array.from({ length: 40 }, (_, n) => t.id(`res-${n}`));
      const outcomes = await Promise.all(
        ids.map(async (id, n) => {
          const begin = () =>
            journal().begin({ reservationId: id, egress: 'egress@a', keyVersion: 0, leaseMs: 60_000 });
          const fence = () => journal().fence(id);
          const [first, second] = n % 2 === 0 ? [begin(), fence()] : [fence(), begin()];
          return [await first, await second];
        }),
      );
      for (const [a, b] of outcomes) expect(Number(a) + Number(b)).toBe(1);
    });

    it('an expired lease without an answer is abandoned once; an answer after that does not land', async () => {
      const t = uniqueNames('journal-lease');
      const live = t.id('live');
      const expired = t.id('expired');
      await journal().begin({ reservationId: live, egress: 'egress@a', keyVersion: 0, leaseMs: 60_000 });
      await journal().begin({ reservationId: expired, egress: 'egress@a', keyVersion: 0, leaseMs: 0 });
      expect(await journal().abandonExpired(live)).toBe(false);
      expect((await journal().get(expired))?.leaseLive).toBe(false);
      expect(await journal().abandonExpired(expired)).toBe(true);
      expect(await journal().abandonExpired(expired)).toBe(false);
      expect(await journal().answer(expired, answer)).toBe(false);
      expect((await journal().get(expired))?.state).toBe('abandoned');
      await journal().fail(live);
      expect((await journal().get(live))?.state).toBe('failed');
    });

    it('sweeps old rows of settled attempts only', async () => {
      const t = uniqueNames('journal-sweep');
      const store = ledger();
      const reserve = (n: number) =>
        store.reserve({
          reservationId: t.id(`res-${n}`),
          requestId: t.id(`req-${n}`),
          team: t.team('chatbot'),
          period: t.period,
          amount: 10n,
          teamLimit: 100n,
          orgLimit: 1_000n,
        });
      await reserve(1);
      await reserve(2);
      await reserve(3);
      for (const n of [1, 2, 3]) {
        await journal().begin({
          reservationId: t.id(`res-${n}`),
          egress: 'egress@a',
          keyVersion: 0,
          leaseMs: 60_000,
        });
        await journal().answer(t.id(`res-${n}`), answer);
      }
      await store.settle(t.id('res-1'), 7n);
      await store.settle(t.id('res-3'), 7n);
      await store.sql.query(
        `UPDATE upstream_calls SET updated_at = now() - interval '1 hour' WHERE reservation_id <> $1`,
        [t.id('res-3')],
      );
      await journal().sweep(15 * 60_000);
      expect(await journal().get(t.id('res-1'))).toBeNull(); // settled and old
      expect((await journal().get(t.id('res-2')))?.state).toBe('answered'); // still held
      expect((await journal().get(t.id('res-3')))?.state).toBe('answered'); // settled but recent
    });

    it('a booking repeated by a recovering run changes nothing', async () => {
      const t = uniqueNames('journal-book');
      const store = ledger();
      const id = t.id('res');
      await store.reserve({
        reservationId: id,
        requestId: t.id('req'),
        team: t.team('chatbot'),
        period: t.period,
        amount: 100n,
        teamLimit: 1_000n,
        orgLimit: 10_000n,
      });
      const book = () =>
        store.bookCompletion({
          reservationId: id,
          cost: 42n,
          usage: {
            requestId: t.id('req'),
            attempt: 1,
            period: t.period,
            team: t.team('chatbot'),
            model: 'llama-3.1-8b-instant',
            keyName: 'primary',
            keyVersion: 1,
            reservationId: id,
            promptTokens: 10,
            completionTokens: 5,
            costNanos: 42n,
            batch: false,
            outcome: 'success',
            startedAt: new Date(),
            finishedAt: new Date(),
          },
          leaseId: id,
          actualTokens: 15,
          model: 'llama-3.1-8b-instant',
          headers: new Headers(),
          now: Date.now(),
        });
      await book();
      await book();
      const spend = await store.getTeamSpend(t.team('chatbot'), t.period);
      expect(spend).toMatchObject({ committed: 42n, held: 0n });
      const rows = (await store.listUsage({ period: t.period })).filter(
        (row) => row.requestId === t.id('req'),
      );
      expect(rows).toHaveLength(1);
    });
  });
}
