/**
 * `authorizeFast` (the ledger function `governor_authorize`, one statement) grants exactly what the
 * separate steps grant: on twin sets of buckets brought to the same random state (earlier admissions,
 * released and open leases, Groq's observations, a day boundary), a reservation and an admission made
 * by the function leave every row as `reserve` and `tryAcquire` leave them, and it admits exactly when
 * `tryAcquire` admits. What the policy would refuse it declines without reserving anything.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorizeFast, type FastAuthorizeInput } from '../../../ledger/authorize-fast';
import { DAY_MS } from '../../../ledger/rate-math';
import { LOG_KEEP_MS, modelBucket, type BucketRequest } from '../../../ledger/ratelimit';
import type { LedgerStore } from '../../../ledger/store';
import type { UpstreamObservation } from '../../../ledger/upstream-headers';
import { uniqueNames } from './harness';

/** 2026-11-02T23:59:30Z: thirty seconds before a day boundary */
const T0 = Date.UTC(2026, 10, 2, 23, 59, 30);
const PERIOD = '2026-11';
const TTL = 120_000;

interface Earlier {
  /** ms before the request */
  ago: number;
  tokens: number;
  /** its lease ended */
  released: boolean;
}

interface Scenario {
  earlier: Earlier[];
  observation: UpstreamObservation | null;
  /** ms before the request that Groq's headers arrived */
  observedAgo: number;
  tokens: number;
  /** ms after T0 (past the day boundary for some) */
  at: number;
  limits: { rpm: number; tpm: number; concurrency: number; rpd: number; tpd: number };
}

function bucketsOf(tag: string, model: string, limits: Scenario['limits']): BucketRequest[] {
  return [
    { key: `team:${tag}`, limits: { rpm: limits.rpm, tpm: limits.tpm, concurrency: limits.concurrency } },
    {
      key: modelBucket(model),
      limits: { rpm: limits.rpm * 2, tpm: limits.tpm * 2, rpd: limits.rpd, tpd: limits.tpd },
    },
  ];
}

const text = (row: unknown) =>
  JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));

async function rowsOf(store: LedgerStore, keys: string[], team: string) {
  const strip = (rows: Record<string, unknown>[]) =>
    rows
      .map(({ bucket, lease_id, ...rest }) => ({
        bucket: String(bucket).split(':')[0],
        lease: lease_id === undefined ? undefined : String(lease_id).split('@')[0],
        ...rest,
      }))
      .sort((a, b) => text(a).localeCompare(text(b)));
  const query = async (text: string, params: unknown[] = [keys]) =>
    strip((await store.sql.query(text, params)).rows);
  return {
    buckets: await query('SELECT * FROM rate_buckets WHERE bucket = ANY($1::text[])'),
    leases: await query(
      'SELECT bucket, lease_id, tokens, acquired_at, expires_at, minute_start, released_at, actual_tokens, day_start FROM rate_leases WHERE bucket = ANY($1::text[])',
    ),
    log: await query(
      'SELECT bucket, lease_id, at, tokens FROM rate_admissions WHERE bucket = ANY($1::text[])',
    ),
    budget: (
      await store.sql.query(
        'SELECT committed_nanos, held_nanos, limit_nanos FROM budgets WHERE scope = $1 AND period = $2',
        [`team:${team}`, PERIOD],
      )
    ).rows,
    reservations: (
      await store.sql.query(
        'SELECT state, amount_nanos, refusal_reason FROM budget_reservations WHERE team = $1 AND period = $2',
        [team, PERIOD],
      )
    ).rows,
  };
}

export function authorizeFastTests(ledger: () => LedgerStore): void {
  describe('the authorize step in one statement', () => {
    async function prepare(store: LedgerStore, label: string) {
      const t = uniqueNames(label);
      const keyId = t.id('key');
      await store.createGatewayKey({
        id: keyId,
        prefix: t.id('p'),
        secret: t.id('secret'),
        team: t.tag,
        role: 'member',
        name: 'fast',
        createdBy: 'test',
      });
      return { t, keyId };
    }

    function fastInput(
      base: {
        keyId: string;
        team: string;
        model: string;
        buckets: BucketRequest[];
        now: number;
        tokens: number;
      },
      overrides: Partial<FastAuthorizeInput> = {},
    ): FastAuthorizeInput {
      return {
        keyId: base.keyId,
        team: base.team,
        roles: ['member', 'team-admin'],
        model: base.model,
        now: base.now,
        period: PERIOD,
        teamLimit: 10_000_000n,
        orgLimit: null,
        reservationId: `r-${base.team}`,
        requestId: `q-${base.team}`,
        amount: 5000n,
        leaseId: `lease-${base.team}`,
        tokens: base.tokens,
        leaseTtlMs: TTL,
        buckets: base.buckets,
        ...overrides,
      };
    }

    async function run(scenario: Scenario, way: 'steps' | 'fast') {
      const store = ledger();
      const { t, keyId } = await prepare(store, `authfast-${way}`);
      const model = `m-${t.tag}`;
      const buckets = bucketsOf(t.tag, model, scenario.limits);
      const now = T0 + scenario.at;
      for (const [index, earlier] of scenario.earlier.entries()) {
        const leaseId = `e${index}@${t.tag}`;
        await store.tryAcquire({
          buckets,
          tokens: earlier.tokens,
          now: now - earlier.ago,
          leaseId,
          leaseTtlMs: TTL,
        });
        if (earlier.released) await store.releaseLease(leaseId, now - earlier.ago + 1);
      }
      if (scenario.observation)
        await store.recordUpstreamHeaders(model, scenario.observation, now - scenario.observedAgo);
      const input = fastInput({ keyId, team: t.tag, model, buckets, now, tokens: scenario.tokens });
      let admitted: boolean;
      if (way === 'fast') {
        const outcome = await authorizeFast(store.sql, { ...input, leaseId: `new@${t.tag}` });
        expect(outcome).not.toBe('declined');
        admitted = outcome === 'admitted';
      } else {
        const reserved = await store.reserve({
          reservationId: input.reservationId,
          requestId: input.requestId,
          team: t.tag,
          period: PERIOD,
          amount: input.amount,
          teamLimit: input.teamLimit,
          orgLimit: input.orgLimit,
        });
        expect(reserved.ok).toBe(true);
        admitted = (
          await store.tryAcquire({
            buckets,
            tokens: scenario.tokens,
            now,
            leaseId: `new@${t.tag}`,
            leaseTtlMs: TTL,
          })
        ).admitted;
      }
      return {
        admitted,
        ...(await rowsOf(
          store,
          buckets.map(({ key }) => key),
          t.tag,
        )),
      };
    }

    it('admits exactly when the separate steps admit, leaving the same rows', async () => {
      const observation = fc.record(
        {
          limitTokens: fc.integer({ min: 100, max: 5000 }),
          remainingTokens: fc.integer({ min: 0, max: 5000 }),
          tokensResetMs: fc.integer({ min: 1, max: 60_000 }),
          limitRequests: fc.integer({ min: 1, max: 20 }),
          remainingRequests: fc.integer({ min: 0, max: 20 }),
          requestsResetMs: fc.integer({ min: 1, max: 60_000 }),
          retryAfterMs: fc.integer({ min: 1, max: 5000 }),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            earlier: fc.array(
              fc.record({
                ago: fc.integer({ min: 1, max: 150_000 }),
                tokens: fc.integer({ min: 0, max: 400 }),
                released: fc.boolean(),
              }),
              { maxLength: 6 },
            ),
            observation: fc.option(observation, { nil: null }),
            observedAgo: fc.integer({ min: 0, max: 70_000 }),
            tokens: fc.integer({ min: 0, max: 600 }),
            at: fc.constantFrom(0, 10_000, 40_000, DAY_MS),
            limits: fc.record({
              rpm: fc.integer({ min: 1, max: 8 }),
              tpm: fc.integer({ min: 200, max: 2000 }),
              concurrency: fc.integer({ min: 1, max: 5 }),
              rpd: fc.integer({ min: 1, max: 10 }),
              tpd: fc.integer({ min: 200, max: 3000 }),
            }),
          }),
          async (scenario) => {
            const steps = await run(scenario, 'steps');
            expect(await run(scenario, 'fast')).toEqual(steps);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('declines without reserving what the policy or the budget would refuse, and a repeated id', async () => {
      const store = ledger();
      const { t, keyId } = await prepare(store, 'authfast-decline');
      const model = `m-${t.tag}`;
      const buckets = bucketsOf(t.tag, model, {
        rpm: 100,
        tpm: 100_000,
        concurrency: 50,
        rpd: 1000,
        tpd: 1_000_000,
      });
      const base = { keyId, team: t.tag, model, buckets, now: T0, tokens: 10 };
      const reservations = async () =>
        (await store.sql.query('SELECT count(*)::int AS n FROM budget_reservations WHERE team = $1', [t.tag]))
          .rows[0]!.n;
      const declined = async (overrides: Partial<FastAuthorizeInput>) =>
        expect(await authorizeFast(store.sql, fastInput(base, overrides))).toBe('declined');
      await declined({ team: `other-${t.tag}` });
      await declined({ roles: ['viewer'] });
      await declined({ keyId: t.id('missing') });
      await declined({ amount: 20_000_000n });
      await declined({ orgLimit: 1000n });
      expect(await reservations()).toBe(0);
      expect(await authorizeFast(store.sql, fastInput(base))).toBe('admitted');
      expect(await reservations()).toBe(1);
      await declined({ leaseId: t.id('again') });
      await declined({ teamLimit: 5000n, reservationId: t.id('r2') });
      // refused at the hold under a changed limit: the row takes the configured limit, as `reserve` leaves it
      const teamLimit = async () =>
        String(
          (
            await store.sql.query('SELECT limit_nanos FROM budgets WHERE scope = $1 AND period = $2', [
              `team:${t.tag}`,
              PERIOD,
            ])
          ).rows[0]?.limit_nanos,
        );
      await declined({ teamLimit: 8000n, reservationId: t.id('r6'), leaseId: t.id('l6') });
      expect(await teamLimit()).toBe('8000');
      await store.setTeamPause({ team: t.tag, kind: 'admin', paused: true, by: 'test', reason: 'test' });
      await declined({ reservationId: t.id('r3'), leaseId: t.id('l3') });
      await store.setTeamPause({ team: t.tag, kind: 'admin', paused: false, by: 'test' });
      await store.sql.query('UPDATE gateway_keys SET models = $2 WHERE id = $1', [keyId, ['another-model']]);
      await declined({ reservationId: t.id('r4'), leaseId: t.id('l4') });
      await store.sql.query('UPDATE gateway_keys SET models = NULL, revoked_at = now() WHERE id = $1', [
        keyId,
      ]);
      await declined({ reservationId: t.id('r5'), leaseId: t.id('l5') });
      expect(await reservations()).toBe(1);
    });

    it("prunes a bucket's log in batches, once its oldest row is a twelfth of the kept time past it", async () => {
      for (const way of ['steps', 'fast'] as const) {
        const store = ledger();
        const { t, keyId } = await prepare(store, `authfast-prune-${way}`);
        const model = `m-${t.tag}`;
        const limits = { rpm: 1000, tpm: 1_000_000, concurrency: 1000, rpd: 10_000, tpd: 10_000_000 };
        const buckets = bucketsOf(t.tag, model, limits);
        const now = T0 + 60_000;
        const keys = buckets.map(({ key }) => key);
        for (const [lease, ago] of [
          ['a', LOG_KEEP_MS + 5_000],
          ['b', 60_000],
        ] as const) {
          await store.tryAcquire({
            buckets,
            tokens: 1,
            now: now - ago,
            leaseId: `${lease}@${t.tag}`,
            leaseTtlMs: TTL,
          });
          await store.releaseLease(`${lease}@${t.tag}`, now - ago + 1);
        }
        const admit = async (at: number, lease: string) => {
          const leaseId = `${lease}@${t.tag}`;
          if (way === 'steps') {
            const acquired = await store.tryAcquire({
              buckets,
              tokens: 1,
              now: at,
              leaseId,
              leaseTtlMs: TTL,
            });
            expect(acquired.admitted).toBe(true);
          } else {
            const input = fastInput({ keyId, team: t.tag, model, buckets, now: at, tokens: 1 });
            const outcome = await authorizeFast(store.sql, {
              ...input,
              leaseId,
              reservationId: `r-${leaseId}`,
              requestId: `q-${leaseId}`,
            });
            expect(outcome).toBe('admitted');
          }
        };
        const logged = async () =>
          (
            await store.sql.query<{ lease: string; n: number }>(
              `SELECT split_part(lease_id, '@', 1) AS lease, count(*)::int AS n FROM rate_admissions
                WHERE bucket = ANY($1::text[]) GROUP BY 1 ORDER BY 1`,
              [keys],
            )
          ).rows;
        // the oldest row is 125 s old: past the kept 120 s, not yet by a twelfth of it (10 s), so kept
        await admit(now, 'c');
        expect(await logged()).toEqual([
          { lease: 'a', n: keys.length },
          { lease: 'b', n: keys.length },
          { lease: 'c', n: keys.length },
        ]);
        // 131 s: every row older than 120 s goes, in every bucket of the admission
        await admit(now + 6_000, 'd');
        expect(await logged()).toEqual([
          { lease: 'b', n: keys.length },
          { lease: 'c', n: keys.length },
          { lease: 'd', n: keys.length },
        ]);
      }
    });

    it('claims the reservation for its call only when it admits, and never on a repeated id', async () => {
      const store = ledger();
      const { t, keyId } = await prepare(store, 'authfast-claim');
      const model = `m-${t.tag}`;
      const buckets = bucketsOf(t.tag, model, {
        rpm: 1,
        tpm: 100_000,
        concurrency: 50,
        rpd: 1000,
        tpd: 1_000_000,
      });
      const base = { keyId, team: t.tag, model, buckets, now: T0, tokens: 10 };
      const claimOf = async (reservationId: string) =>
        (
          await store.sql.query<{ by: string | null; at: unknown }>(
            'SELECT call_claimed_by AS by, call_claimed_at AS at FROM budget_reservations WHERE id = $1',
            [reservationId],
          )
        ).rows[0];
      const first = fastInput(base, { claimer: 'worker-a' });
      expect(await authorizeFast(store.sql, first)).toBe('claimed');
      expect(await claimOf(first.reservationId)).toMatchObject({ by: 'worker-a' });
      expect((await claimOf(first.reservationId))?.at).not.toBeNull();
      // the step run again (same reservation) is declined and leaves the first claim as it was
      expect(await authorizeFast(store.sql, { ...first, claimer: 'worker-b' })).toBe('declined');
      expect(await claimOf(first.reservationId)).toMatchObject({ by: 'worker-a' });
      expect(await store.claimCall(first.reservationId, 'worker-b')).toMatchObject({
        claimed: false,
        claimedBy: 'worker-a',
      });
      // no room under the limit (one request a minute): reserved, not admitted, nobody claims it
      const second = fastInput(base, {
        claimer: 'worker-a',
        reservationId: t.id('r-claim2'),
        leaseId: t.id('l-claim2'),
      });
      expect(await authorizeFast(store.sql, second)).toBe('reserved');
      expect(await claimOf(second.reservationId)).toMatchObject({ by: null, at: null });
      // without a claimer the outcome of an admission is still `admitted`, unclaimed
      const third = fastInput(
        {
          ...base,
          buckets: bucketsOf(`${t.tag}x`, model, {
            rpm: 5,
            tpm: 100_000,
            concurrency: 5,
            rpd: 10,
            tpd: 100_000,
          }),
        },
        { reservationId: t.id('r-claim3'), leaseId: t.id('l-claim3') },
      );
      expect(await authorizeFast(store.sql, third)).toBe('admitted');
      expect(await claimOf(third.reservationId)).toMatchObject({ by: null, at: null });
    });
  });
}
