/**
 * The authorize step's happy path in one statement: the ledger function `governor_authorize` (migration
 * 0012) checks what the policy reads from the ledger (the key, the team's admin pause, the team's spend),
 * holds the reservation and admits the request against every rate-limit bucket, in one round trip. It
 * only grants: what it cannot grant at once it leaves to the separate steps, which make the exact refusal
 * or compute when room comes back (see the migration for what each outcome leaves).
 */
import type { Nanos } from '../domain/money';
import { assertId, assertNanos } from './budgets';
import { assertPeriod } from './period';
import { DAY_MS, MINUTE_WINDOW_MS, type RateLimits } from './rate-math';
import { byteOrder, LOG_KEEP_MS, type BucketRequest } from './ratelimit';
import type { SqlQueryable } from './sql';

export interface FastAuthorizeInput {
  /** the gateway key, expected to be of `team` */
  keyId: string;
  team: string;
  /** the roles that may make this call (from the role table) */
  roles: readonly string[];
  model: string;
  /** epoch ms */
  now: number;
  period: string;
  teamLimit: Nanos | null;
  orgLimit: Nanos | null;
  reservationId: string;
  requestId: string;
  amount: Nanos;
  leaseId: string;
  /** estimated tokens of the request (prompt + max completion) */
  tokens: number;
  leaseTtlMs: number;
  buckets: readonly BucketRequest[];
  /** claim the reservation for its upstream call in the same statement once admitted (`claimed`) */
  claimer?: string;
}

/**
 * `declined`: nothing reserved; `reserved`: held but not admitted; `admitted`: held and admitted;
 * `claimed`: held, admitted and claimed by `claimer` (only when one was given, and instead of `admitted`).
 */
export type FastAuthorizeOutcome = 'declined' | 'reserved' | 'admitted' | 'claimed';

const OUTCOMES: ReadonlySet<string> = new Set<FastAuthorizeOutcome>([
  'declined',
  'reserved',
  'admitted',
  'claimed',
]);

const LIMITS: ReadonlyArray<keyof RateLimits> = ['rpm', 'tpm', 'rpd', 'tpd', 'concurrency'];

export async function authorizeFast(
  db: SqlQueryable,
  input: FastAuthorizeInput,
): Promise<FastAuthorizeOutcome> {
  assertId('keyId', input.keyId);
  assertId('reservationId', input.reservationId);
  assertId('requestId', input.requestId);
  assertId('leaseId', input.leaseId);
  if (input.claimer !== undefined && input.claimer.length === 0)
    throw new RangeError('claimer must not be empty');
  assertPeriod(input.period);
  assertNanos('amount', input.amount);
  if (input.teamLimit !== null) assertNanos('teamLimit', input.teamLimit);
  if (input.orgLimit !== null) assertNanos('orgLimit', input.orgLimit);
  for (const [name, value] of Object.entries({ now: input.now, tokens: input.tokens })) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${name} must be a whole number >= 0`);
  }
  if (!Number.isSafeInteger(input.leaseTtlMs) || input.leaseTtlMs <= 0)
    throw new RangeError('leaseTtlMs must be > 0');
  const buckets = [...input.buckets].sort((a, b) => byteOrder(a.key, b.key));
  if (buckets.length === 0 || new Set(buckets.map(({ key }) => key)).size !== buckets.length)
    throw new RangeError('authorizeFast needs distinct buckets');
  for (const { key, limits } of buckets) {
    for (const name of LIMITS) {
      const value = limits[name];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0))
        throw new RangeError(`bucket ${key}: ${name} must be a whole number >= 0`);
    }
  }
  const { rows } = await db.query(
    `SELECT governor_authorize($1, $2, $3::text[], $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
              $16::text[], $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[], $22, $23, $24,
              $25) AS outcome`,
    [
      input.keyId,
      input.team,
      [...input.roles],
      input.model,
      new Date(input.now),
      input.period,
      input.teamLimit,
      input.orgLimit,
      input.reservationId,
      input.requestId,
      input.amount,
      input.leaseId,
      input.tokens,
      input.now,
      input.now + input.leaseTtlMs,
      buckets.map(({ key }) => key),
      ...LIMITS.map((name) => buckets.map(({ limits }) => limits[name] ?? null)),
      MINUTE_WINDOW_MS,
      LOG_KEEP_MS,
      DAY_MS,
      input.claimer ?? null,
    ],
  );
  const outcome: unknown = rows[0]?.outcome;
  const claiming = input.claimer !== undefined;
  if (
    typeof outcome !== 'string' ||
    !OUTCOMES.has(outcome) ||
    (outcome === 'claimed' && !claiming) ||
    (outcome === 'admitted' && claiming)
  )
    throw new Error(`governor_authorize answered ${String(outcome)}`);
  return outcome as FastAuthorizeOutcome;
}
