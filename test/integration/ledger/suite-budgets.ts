/** Budget reservations: fit and refuse, team vs org caps, idempotency, lifecycle, and races. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ReservationMismatchError,
  ReservationNotFoundError,
  ReservationStateError,
} from '../../../ledger/errors';
import type { ReserveInput } from '../../../ledger/budgets';
import type { LedgerStore } from '../../../ledger/store';
import { uniqueNames, type LedgerTestTarget } from './harness';

export function budgetTests(ledger: () => LedgerStore, target: LedgerTestTarget): void {
  describe('budget reservations', () => {
    function reservation(
      names: ReturnType<typeof uniqueNames>,
      n: number | string,
      overrides: Partial<ReserveInput> = {},
    ) {
      return {
        reservationId: names.id(`res-${n}`),
        requestId: names.id(`req-${n}`),
        team: names.team('chatbot'),
        period: names.period,
        amount: 10n,
        teamLimit: 100n,
        orgLimit: 1_000n,
        ...overrides,
      } satisfies ReserveInput;
    }

    it('holds what fits and refuses what does not, to the exact unit', async () => {
      const t = uniqueNames('fit');
      const store = ledger();
      expect((await store.reserve(reservation(t, 1, { amount: 60n }))).ok).toBe(true);
      const refused = await store.reserve(reservation(t, 2, { amount: 41n }));
      expect(refused).toMatchObject({ ok: false, reason: 'team_budget', remaining: 40n, replayed: false });
      expect((await store.reserve(reservation(t, 3, { amount: 40n }))).ok).toBe(true);
      expect(await store.reserve(reservation(t, 4, { amount: 1n }))).toMatchObject({
        ok: false,
        reason: 'team_budget',
        remaining: 0n,
      });
      expect(await store.reserve(reservation(t, 5, { amount: 0n }))).toMatchObject({ ok: true });
      const spend = await store.getTeamSpend(t.team('chatbot'), t.period);
      expect(spend).toMatchObject({ limit: 100n, committed: 0n, held: 100n, unknown: 0n });
      expect(await store.getSpend('org', t.period)).toMatchObject({ limit: 1_000n, held: 100n });
    });

    it('applies the org cap across teams and reports which cap refused', async () => {
      const t = uniqueNames('org-cap');
      const store = ledger();
      const caps = { teamLimit: 80n, orgLimit: 100n };
      expect((await store.reserve(reservation(t, 1, { ...caps, amount: 70n, team: t.team('a') }))).ok).toBe(
        true,
      );
      const refused = await store.reserve(reservation(t, 2, { ...caps, amount: 40n, team: t.team('b') }));
      expect(refused).toMatchObject({ ok: false, reason: 'org_budget', remaining: 30n });
      expect((await store.reserve(reservation(t, 3, { ...caps, amount: 30n, team: t.team('b') }))).ok).toBe(
        true,
      );
      // team cap is checked first when both are exhausted
      const both = await store.reserve(reservation(t, 4, { ...caps, amount: 11n, team: t.team('a') }));
      expect(both).toMatchObject({ ok: false, reason: 'team_budget', remaining: 10n });
      const spend = await store.listSpend(t.period);
      expect(spend.map((s) => [s.scope, s.held])).toEqual([
        ['org', 100n],
        [`team:${t.team('a')}`, 70n],
        [`team:${t.team('b')}`, 30n],
      ]);
    });

    it('treats a null limit as uncapped and a null team as an org-only charge', async () => {
      const t = uniqueNames('uncapped');
      const store = ledger();
      const big = 9_000_000_000_000_000_000n; // beyond 2^53: exact only as bigint
      expect(
        (await store.reserve(reservation(t, 1, { amount: big, teamLimit: null, orgLimit: null }))).ok,
      ).toBe(true);
      const orgOnly = await store.reserve(reservation(t, 2, { amount: 7n, team: null, orgLimit: null }));
      expect(orgOnly.ok).toBe(true);
      expect((await store.getSpend('org', t.period)).held).toBe(big + 7n);
      expect((await store.getTeamSpend(t.team('chatbot'), t.period)).held).toBe(big);
    });

    it('is idempotent on the reservation id, refusals included', async () => {
      const t = uniqueNames('idem');
      const store = ledger();
      const first = await store.reserve(reservation(t, 1, { amount: 30n }));
      const again = await store.reserve(reservation(t, 1, { amount: 30n }));
      expect(first).toMatchObject({ ok: true, replayed: false });
      expect(again).toMatchObject({ ok: true, replayed: true });
      expect((await store.getTeamSpend(t.team('chatbot'), t.period)).held).toBe(30n);

      const refused = await store.reserve(reservation(t, 2, { amount: 500n }));
      expect(refused).toMatchObject({ ok: false, reason: 'team_budget', remaining: 70n });
      // the limit was raised since, but the same id keeps its first answer
      const replay = await store.reserve(reservation(t, 2, { amount: 500n, teamLimit: 10_000n }));
      expect(replay).toMatchObject({ ok: false, reason: 'team_budget', remaining: 70n, replayed: true });

      await expect(store.reserve(reservation(t, 1, { amount: 31n }))).rejects.toThrow(
        ReservationMismatchError,
      );
      expect((await store.getTeamSpend(t.team('chatbot'), t.period)).held).toBe(30n);
    });

    it('never holds twice when the same id is reserved concurrently', async () => {
      const t = uniqueNames('idem-race');
      const store = ledger();
      const results = await Promise.all(
        Array.from({ length: 25 }, () => store.reserve(reservation(t, 1, { amount: 9n }))),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      expect((await store.getTeamSpend(t.team('chatbot'), t.period)).held).toBe(9n);
      expect((await store.getSpend('org', t.period)).held).toBe(9n);
    });

    it('settles at the actual cost, below or above the hold, and never twice', async () => {
      const t = uniqueNames('settle');
      const store = ledger();
      const team = t.team('chatbot');
      await store.reserve(reservation(t, 1, { amount: 40n }));
      await store.reserve(reservation(t, 2, { amount: 40n }));
      const low = await store.settle(t.id('res-1'), 25n);
      expect(low).toMatchObject({ changed: true, reservation: { state: 'settled', settledAmount: 25n } });
      // actual above the estimate: the overrun is charged, not dropped
      await store.settle(t.id('res-2'), 55n);
      expect(await store.getTeamSpend(team, t.period)).toMatchObject({ committed: 80n, held: 0n });
      expect(await store.getSpend('org', t.period)).toMatchObject({ committed: 80n, held: 0n });

      expect(await store.settle(t.id('res-1'), 25n)).toMatchObject({ changed: false });
      await expect(store.settle(t.id('res-1'), 26n)).rejects.toThrow(ReservationStateError);
      await expect(store.release(t.id('res-1'))).rejects.toThrow(ReservationStateError);
      expect(await store.getTeamSpend(team, t.period)).toMatchObject({ committed: 80n, held: 0n });

      // the next reservation sees the overrun: 100 - 80 = 20 left
      expect(await store.reserve(reservation(t, 3, { amount: 21n }))).toMatchObject({
        ok: false,
        remaining: 20n,
      });
    });

    it('releases a hold once, and refuses to settle what was released', async () => {
      const t = uniqueNames('release');
      const store = ledger();
      await store.reserve(reservation(t, 1, { amount: 40n }));
      expect(await store.release(t.id('res-1'))).toMatchObject({
        changed: true,
        reservation: { state: 'released' },
      });
      expect(await store.release(t.id('res-1'))).toMatchObject({ changed: false });
      expect(await store.getTeamSpend(t.team('chatbot'), t.period)).toMatchObject({
        committed: 0n,
        held: 0n,
      });
      await expect(store.settle(t.id('res-1'), 1n)).rejects.toThrow(ReservationStateError);
      await expect(store.release(t.id('nope'))).rejects.toThrow(ReservationNotFoundError);
      await expect(store.settle(t.id('nope'), 1n)).rejects.toThrow(ReservationNotFoundError);
    });

    it('keeps an unknown outcome charged and lists it for reconciliation', async () => {
      const t = uniqueNames('unknown');
      const store = ledger();
      const team = t.team('chatbot');
      for (const n of [1, 2, 3]) await store.reserve(reservation(t, n, { amount: 20n }));
      expect(await store.markUnknown(t.id('res-1'))).toMatchObject({
        changed: true,
        reservation: { state: 'unknown' },
      });
      expect(await store.markUnknown(t.id('res-1'))).toMatchObject({ changed: false });
      await store.markUnknown(t.id('res-2'));
      expect(await store.getTeamSpend(team, t.period)).toMatchObject({ held: 60n, unknown: 40n });
      // an unknown hold still counts against the budget: 100 - 60 = 40 left
      expect(await store.reserve(reservation(t, 4, { amount: 41n }))).toMatchObject({
        ok: false,
        remaining: 40n,
      });

      const unknown = await store.listUnknown({ period: t.period });
      expect(unknown.map((r) => r.id).sort()).toEqual([t.id('res-1'), t.id('res-2')]);
      expect(unknown.every((r) => r.unknownAt instanceof Date)).toBe(true);

      // reconciliation: one call was billed, the other never reached upstream
      await store.settle(t.id('res-1'), 18n);
      await store.release(t.id('res-2'));
      expect(await store.listUnknown({ period: t.period })).toEqual([]);
      expect(await store.getTeamSpend(team, t.period)).toMatchObject({
        committed: 18n,
        held: 20n,
        unknown: 0n,
      });
      // a known outcome is not turned back into unknown
      expect(await store.markUnknown(t.id('res-1'))).toMatchObject({
        changed: false,
        reservation: { state: 'settled' },
      });
    });

    it('200 concurrent reservations against a budget that fits exactly 50: exactly 50 hold', async () => {
      const t = uniqueNames('race-team');
      const store = ledger();
      const amount = 1_234_567_891n;
      const limit = amount * 50n;
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, n) =>
          store.reserve(reservation(t, n, { amount, teamLimit: limit, orgLimit: limit * 100n })),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(50);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'team_budget')).toBe(true);
      const spend = await store.getTeamSpend(t.team('chatbot'), t.period);
      expect(spend.held).toBe(limit);
      expect((await store.listReservations({ period: t.period, states: ['held'] })).length).toBe(50);
    });

    it('200 concurrent reservations from many teams against an org cap that fits 50: exactly 50 hold', async () => {
      const t = uniqueNames('race-org');
      const store = ledger();
      const amount = 999_999_937n;
      const orgLimit = amount * 50n;
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, n) =>
          store.reserve(
            reservation(t, n, { amount, team: t.team(`team${n % 7}`), teamLimit: orgLimit, orgLimit }),
          ),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(50);
      const spend = await store.listSpend(t.period);
      expect(spend[0]).toMatchObject({ scope: 'org', held: orgLimit });
      expect(spend.slice(1).reduce((sum, s) => sum + s.held, 0n)).toBe(orgLimit);
    });

    it('keeps the books balanced under concurrent reserve, settle, release and unknown', async () => {
      const t = uniqueNames('churn');
      const store = ledger();
      const limit = 10_000n;
      const outcomes = await Promise.all(
        Array.from({ length: 120 }, async (_, n) => {
          const input = reservation(t, n, { amount: 100n + BigInt(n), teamLimit: limit, orgLimit: limit });
          const result = await store.reserve(input);
          if (!result.ok) return { charged: 0n, held: 0n };
          if (n % 3 === 0) {
            await store.settle(input.reservationId, 50n + BigInt(n));
            return { charged: 50n + BigInt(n), held: 0n };
          }
          if (n % 3 === 1) {
            await store.release(input.reservationId);
            return { charged: 0n, held: 0n };
          }
          await store.markUnknown(input.reservationId);
          return { charged: 0n, held: input.amount };
        }),
      );
      const committed = outcomes.reduce((sum, o) => sum + o.charged, 0n);
      const held = outcomes.reduce((sum, o) => sum + o.held, 0n);
      const spend = await store.getTeamSpend(t.team('chatbot'), t.period);
      expect(spend).toMatchObject({ committed, held, unknown: held });
      expect(spend.committed + spend.held).toBeLessThanOrEqual(limit);
      expect(await store.getSpend('org', t.period)).toMatchObject({ committed, held });
    });

    it('matches a simple model of the books over random operation sequences', async () => {
      const store = ledger();
      type Op =
        | { kind: 'reserve'; amount: bigint }
        | { kind: 'settle' | 'release' | 'unknown'; pick: number; cost: bigint };
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ kind: fc.constant('reserve' as const), amount: fc.bigInt({ min: 0n, max: 400n }) }),
        fc.record({
          kind: fc.constantFrom('settle' as const, 'release' as const, 'unknown' as const),
          pick: fc.nat(),
          cost: fc.bigInt({ min: 0n, max: 600n }),
        }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
          const t = uniqueNames('model');
          const limit = 1_000n;
          const model = new Map<string, { amount: bigint; state: string }>();
          let committed = 0n;
          let held = 0n;
          for (const [index, step] of ops.entries()) {
            if (step.kind === 'reserve') {
              const result = await store.reserve(
                reservation(t, index, { amount: step.amount, teamLimit: limit }),
              );
              const fits = committed + held + step.amount <= limit;
              expect(result.ok).toBe(fits);
              if (fits) {
                model.set(t.id(`res-${index}`), { amount: step.amount, state: 'held' });
                held += step.amount;
              }
              continue;
            }
            const ids = [...model.keys()];
            const id = ids[step.pick % Math.max(1, ids.length)];
            if (id === undefined) continue;
            const entry = model.get(id);
            if (!entry) continue;
            const open = entry.state === 'held' || entry.state === 'unknown';
            if (step.kind === 'settle' && open) {
              await store.settle(id, step.cost);
              held -= entry.amount;
              committed += step.cost;
              entry.state = 'settled';
            } else if (step.kind === 'release' && open) {
              await store.release(id);
              held -= entry.amount;
              entry.state = 'released';
            } else if (step.kind === 'unknown') {
              await store.markUnknown(id);
              if (entry.state === 'held') entry.state = 'unknown';
            }
          }
          const spend = await store.getTeamSpend(t.team('chatbot'), t.period);
          expect({ committed: spend.committed, held: spend.held }).toEqual({ committed, held });
        }),
        { numRuns: target.driver === 'postgres' ? 15 : 10 },
      );
    });
  });
}
