/** Usage records, refusals, alerts, pauses: idempotency and exact sums. */
import { describe, expect, it } from 'vitest';
import type { LedgerStore } from '../../../ledger/store';
import type { UsageAttempt } from '../../../ledger/usage';
import { uniqueNames } from './harness';

export function usageTests(ledger: () => LedgerStore): void {
  describe('usage records', () => {
    function attempt(
      t: ReturnType<typeof uniqueNames>,
      n: number,
      overrides: Partial<UsageAttempt> = {},
    ): UsageAttempt {
      return {
        requestId: t.id(`req-${n}`),
        attempt: 1,
        period: t.period,
        team: t.team('chatbot'),
        model: 'llama-3.1-8b-instant',
        keyName: 'primary',
        keyVersion: 1,
        promptTokens: 100,
        completionTokens: 20,
        cachedTokens: 0,
        costNanos: 6_600n,
        batch: false,
        upstreamRequestId: `req_${n}`,
        httpStatus: 200,
        outcome: 'success',
        startedAt: new Date('2026-11-02T10:00:00Z'),
        finishedAt: new Date('2026-11-02T10:00:01Z'),
        ...overrides,
      };
    }

    it('records one row per (request, attempt): a repeat returns the first row untouched', async () => {
      const t = uniqueNames('usage-idem');
      const store = ledger();
      const first = await store.recordUsage(attempt(t, 1));
      expect(first.inserted).toBe(true);
      expect(first.record).toMatchObject({
        promptTokens: 100n,
        completionTokens: 20n,
        costNanos: 6_600n,
        batch: false,
      });
      const repeat = await store.recordUsage(attempt(t, 1, { costNanos: 1n, outcome: 'error' }));
      expect(repeat.inserted).toBe(false);
      expect(repeat.record).toEqual(first.record);
      const retry = await store.recordUsage(
        attempt(t, 1, { attempt: 2, outcome: 'unknown', httpStatus: null }),
      );
      expect(retry.inserted).toBe(true);
      const rows = await store.listUsage({ period: t.period });
      expect(rows.map((r) => [r.attempt, r.outcome])).toEqual([
        [1, 'success'],
        [2, 'unknown'],
      ]);
    });

    it('records concurrently repeated attempts once', async () => {
      const t = uniqueNames('usage-race');
      const store = ledger();
      const results = await Promise.all(Array.from({ length: 20 }, () => store.recordUsage(attempt(t, 1))));
      expect(results.filter((r) => r.inserted)).toHaveLength(1);
      expect(await store.listUsage({ period: t.period })).toHaveLength(1);
    });

    it('sums costs and tokens exactly, beyond 2^53, per model and per team', async () => {
      const t = uniqueNames('usage-sums');
      const store = ledger();
      const huge = 4_611_686_018_427_387_903n; // 2^62 - 1
      const rows: UsageAttempt[] = [
        attempt(t, 1, { costNanos: huge, promptTokens: 2n ** 40n, model: 'a' }),
        attempt(t, 2, { costNanos: 3n, model: 'a', team: t.team('search') }),
        attempt(t, 3, { costNanos: 1_000_000_001n, model: 'b', cachedTokens: 50, batch: true }),
        attempt(t, 4, { costNanos: 0n, model: 'b', team: null, outcome: 'cut' }),
      ];
      for (const row of rows) await store.recordUsage(row);
      const byModel = await store.usageTotalsByModel({ period: t.period });
      expect(byModel).toEqual([
        {
          key: 'a',
          attempts: 2n,
          promptTokens: 2n ** 40n + 100n,
          completionTokens: 40n,
          cachedTokens: 0n,
          costNanos: huge + 3n,
        },
        {
          key: 'b',
          attempts: 2n,
          promptTokens: 200n,
          completionTokens: 40n,
          cachedTokens: 50n,
          costNanos: 1_000_000_001n,
        },
      ]);
      const byTeam = await store.usageTotalsByTeam({ period: t.period });
      expect(byTeam.map((row) => [row.key, row.costNanos])).toEqual([
        [null, 0n],
        [t.team('chatbot'), huge + 1_000_000_001n],
        [t.team('search'), 3n],
      ]);
      const chatbotOnly = await store.usageTotalsByModel({ period: t.period, team: t.team('chatbot') });
      expect(chatbotOnly.map((row) => [row.key, row.costNanos])).toEqual([
        ['a', huge],
        ['b', 1_000_000_001n],
      ]);
    });

    it('filters by key version and pages without losing or repeating rows', async () => {
      const t = uniqueNames('usage-pages');
      const store = ledger();
      for (let n = 0; n < 23; n++)
        await store.recordUsage(attempt(t, n, { keyVersion: n % 2 === 0 ? 1 : 2 }));
      expect(await store.listUsage({ period: t.period, keyName: 'primary', keyVersion: 2 })).toHaveLength(11);
      const seen: string[] = [];
      let after: { requestId: string; attempt: number } | undefined;
      for (;;) {
        const page = await store.listUsage({ period: t.period, limit: 5, ...(after ? { after } : {}) });
        if (page.length === 0) break;
        seen.push(...page.map((r) => r.requestId));
        const last = page[page.length - 1];
        if (!last) break;
        after = { requestId: last.requestId, attempt: last.attempt };
      }
      expect(seen).toHaveLength(23);
      expect(new Set(seen).size).toBe(23);
    });

    it('rejects impossible rows', async () => {
      const t = uniqueNames('usage-bad');
      const store = ledger();
      await expect(store.recordUsage(attempt(t, 1, { cachedTokens: 101 }))).rejects.toThrow(/cachedTokens/);
      await expect(store.recordUsage(attempt(t, 2, { costNanos: -1n }))).rejects.toThrow(/costNanos/);
      await expect(store.recordUsage(attempt(t, 3, { period: '2026-13' }))).rejects.toThrow(/period/);
    });
  });

  describe('refusals, alerts and pauses', () => {
    it('counts refusals by reason, once per request', async () => {
      const t = uniqueNames('refusals');
      const store = ledger();
      const at = new Date('2026-11-03T00:00:00Z');
      const refuse = (n: number, reason: string) =>
        store.recordRefusal({
          requestId: t.id(`req-${n}`),
          period: t.period,
          team: t.team('chatbot'),
          reason,
          at,
        });
      expect(await refuse(1, 'team_budget')).toBe(true);
      expect(await refuse(1, 'team_budget')).toBe(false);
      await refuse(2, 'team_budget');
      await refuse(3, 'rate_limited');
      await store.recordRefusal({
        requestId: t.id('req-4'),
        period: t.period,
        team: null,
        reason: 'org_budget',
        at,
      });
      expect(await store.refusalCounts({ period: t.period })).toEqual([
        { reason: 'org_budget', count: 1n },
        { reason: 'rate_limited', count: 1n },
        { reason: 'team_budget', count: 2n },
      ]);
      expect(await store.refusalCounts({ period: t.period, team: null })).toEqual([
        { reason: 'org_budget', count: 1n },
      ]);
    });

    it('alerts each threshold once per scope and period, even when raced', async () => {
      const t = uniqueNames('alerts');
      const store = ledger();
      const scope = `team:${t.team('chatbot')}`;
      const raced = await Promise.all(
        Array.from({ length: 20 }, () => store.recordAlertOnce(scope, t.period, 80)),
      );
      expect(raced.filter(Boolean)).toHaveLength(1);
      expect(await store.recordAlertOnce(scope, t.period, 100)).toBe(true);
      expect(await store.recordAlertOnce(scope, t.period, 100)).toBe(false);
      expect(await store.recordAlertOnce('org', t.period, 80)).toBe(true);
      const next = uniqueNames('alerts-next').period;
      expect(await store.recordAlertOnce(scope, next, 80)).toBe(true);
      expect((await store.listAlerts(t.period)).map((a) => [a.scope, a.threshold])).toEqual([
        ['org', 80],
        [scope, 80],
        [scope, 100],
      ]);
    });

    it('pauses a team by admin until lifted, and by budget for one period only', async () => {
      const t = uniqueNames('pauses');
      const next = uniqueNames('pauses-next').period;
      const store = ledger();
      const team = t.team('chatbot');
      expect(await store.getTeamPause(team, t.period)).toMatchObject({
        paused: false,
        admin: null,
        budget: null,
      });

      expect(
        await store.setTeamPause({ team, kind: 'budget', period: t.period, paused: true, by: 'governor' }),
      ).toBe(true);
      expect(
        await store.setTeamPause({ team, kind: 'budget', period: t.period, paused: true, by: 'governor' }),
      ).toBe(false);
      expect(await store.getTeamPause(team, t.period)).toMatchObject({
        paused: true,
        budget: { pausedBy: 'governor' },
      });
      expect((await store.getTeamPause(team, next)).paused).toBe(false);

      await store.setTeamPause({ team, kind: 'admin', paused: true, by: 'alice', reason: 'incident' });
      expect(await store.getTeamPause(team, next)).toMatchObject({
        paused: true,
        admin: { reason: 'incident' },
      });
      expect((await store.listPausedTeams(next)).map((p) => p.team)).toContain(team);
      expect(await store.setTeamPause({ team, kind: 'admin', paused: false, by: 'alice' })).toBe(true);
      expect((await store.getTeamPause(team, next)).paused).toBe(false);
      expect((await store.getTeamPause(team, t.period)).paused).toBe(true);
    });
  });
}
