/**
 * The governed-completion hot path in fewer round trips. Each function here does, in one statement or
 * one transaction, what the completion activities did in several: the same checks and the same writes,
 * through the same store functions where there are writes (so their rules and lock orders hold), only
 * without a transaction (and a wait for PGlite's single connection) per step.
 *
 * Lock order in `bookCompletion`: the reservation and the budget rows (org, then team, as `settle`),
 * then rate buckets (in `lockBuckets` order, as `tryAcquire`). `reserve` takes budget rows only and
 * `tryAcquire` bucket rows only, so no transaction ever holds a bucket while it waits for a budget row.
 */
import type { Nanos } from '../domain/money';
import { assertId, assertNanos, settle } from './budgets';
import { toKey, type GatewayKey } from './keys';
import { assertPeriod } from './period';
import { finishLease } from './lease-finish';
import {
  asBigint,
  asNullableString,
  asString,
  type SqlClient,
  type SqlQueryable,
  type SqlSession,
} from './sql';
import type { HeaderSource, UpstreamObservation } from './upstream-headers';
import { modelBucket, observationOf, observedColumns, type ObservedDimension } from './ratelimit';
import { recordUsage, usageParams, type UsageAttempt } from './usage';

/** An open transaction seen as a session, so store functions that open their own run inside it. */
export function inTransaction(tx: SqlQueryable): SqlSession {
  return {
    query: (text, params) => tx.query(text, params),
    exec: (script) => tx.exec(script),
    transaction: (fn) => fn(tx),
  };
}

export interface PolicySnapshot {
  key: GatewayKey | null;
  /** the team's admin pause (null: not paused by an admin); only for the key's team */
  adminPause: { reason: string | null } | null;
  /** committed + held (unknown included) of the key's team in `period`; 0 when nothing was reserved */
  teamUsed: Nanos;
}

/**
 * What the policy step reads, in one statement: the key, its team's admin pause and its team's spend in
 * `period` (the values `getGatewayKey`, `getTeamPause(...).admin` and `getTeamSpend` give).
 */
export async function policySnapshot(
  db: SqlQueryable,
  keyId: string,
  period: string,
): Promise<PolicySnapshot> {
  assertPeriod(period);
  const { rows } = await db.query(
    `SELECT k.id, k.prefix, k.secret_hash, k.team, k.role, k.name, k.models, k.expires_at, k.revoked_at,
            k.created_at, k.created_by, k.last_used_at,
            (SELECT p.reason FROM team_pauses p WHERE p.team = k.team AND p.kind = 'admin' LIMIT 1) AS pause_reason,
            EXISTS (SELECT 1 FROM team_pauses p WHERE p.team = k.team AND p.kind = 'admin') AS admin_paused,
            (SELECT b.committed_nanos + b.held_nanos FROM budgets b
              WHERE b.scope = 'team:' || k.team AND b.period = $2) AS team_used
       FROM gateway_keys k WHERE k.id = $1`,
    [keyId, period],
  );
  const row = rows[0];
  if (!row) return { key: null, adminPause: null, teamUsed: 0n };
  return {
    key: toKey(row),
    adminPause: row.admin_paused === true ? { reason: asNullableString(row.pause_reason, 'reason') } : null,
    teamUsed: row.team_used === null || row.team_used === undefined ? 0n : asBigint(row.team_used, 'used'),
  };
}

/** committed + held (unknown included) of each scope in `period`, one statement; 0 for a scope without a row. */
export async function spendOfScopes(
  db: SqlQueryable,
  scopes: readonly string[],
  period: string,
): Promise<Map<string, Nanos>> {
  assertPeriod(period);
  const { rows } = await db.query(
    `SELECT scope, committed_nanos + held_nanos AS used FROM budgets WHERE period = $1 AND scope = ANY($2::text[])`,
    [period, [...scopes]],
  );
  const used = new Map<string, Nanos>(scopes.map((scope) => [scope, 0n]));
  for (const row of rows) used.set(String(row.scope), asBigint(row.used, 'used'));
  return used;
}

export interface BookCompletionInput {
  reservationId: string;
  /** the exact cost of the call */
  cost: Nanos;
  usage: UsageAttempt;
  leaseId: string;
  /** prompt - cached + completion tokens, for the limiter's correction */
  actualTokens: number;
  model: string;
  /** the upstream answer's rate-limit headers */
  headers: HeaderSource | UpstreamObservation;
  /** epoch ms */
  now: number;
}

/**
 * Book a completed call: settle the reservation at the exact cost, write the usage row, feed Groq's
 * rate-limit headers to the model bucket, correct the limiter to the real token count and end the lease.
 * All of it or nothing: a failure leaves the attempt as it was before booking. Gives the spend of the
 * reservation's scopes after the settlement (for the alert check) when it booked.
 *
 * A held reservation is booked in one statement, the ledger function `governor_book_completion`
 * (migration 0010), which runs the same steps server-side; any other (booked before: a recovering run and
 * the original both had the answer; or a state that cannot be settled) goes through the transaction of
 * separate steps, which answers `booked: false` or raises the settlement's error.
 */
export async function bookCompletion(
  db: SqlClient | SqlSession,
  input: BookCompletionInput,
): Promise<{ booked: boolean; spend?: Map<string, Nanos> }> {
  assertId('reservationId', input.reservationId);
  assertNanos('actualCost', input.cost);
  if (!Number.isSafeInteger(input.actualTokens) || input.actualTokens < 0) {
    throw new RangeError('actualTokens must be a whole number >= 0');
  }
  const observed = observedColumns(observationOf(input.headers, input.now), input.now);
  const dimension = (seen: ObservedDimension | null) => [
    seen?.remaining ?? null,
    seen?.limit ?? null,
    seen?.resetAt ?? null,
  ];
  const usage = usageParams(input.usage);
  const { rows } = await db.query(
    `SELECT budget_scope, budget_used FROM governor_book_completion(${placeholders(2 + usage.length + 11)})`,
    [
      input.reservationId,
      input.cost,
      ...usage,
      input.leaseId,
      modelBucket(input.model),
      input.actualTokens,
      input.now,
      ...dimension(observed.tokens),
      ...dimension(observed.requests),
      observed.blockedUntil,
    ],
  );
  if (rows.length > 0) {
    const spend = new Map<string, Nanos>();
    for (const row of rows) spend.set(asString(row.budget_scope, 'scope'), asBigint(row.budget_used, 'used'));
    return { booked: true, spend };
  }
  return bookInSteps(db, input);
}

function placeholders(count: number): string {
  return Array.from({ length: count }, (_, index) => `$${index + 1}`).join(', ');
}

/** The booking as a transaction of the separate steps (for a reservation that is not held). */
async function bookInSteps(
  db: SqlClient | SqlSession,
  input: BookCompletionInput,
): Promise<{ booked: boolean; spend?: Map<string, Nanos> }> {
  return db.transaction(async (tx) => {
    const session = inTransaction(tx);
    // booked before (a recovering run and the original both had the answer): nothing more to do
    const settled = await settle(session, input.reservationId, input.cost);
    if (!settled.changed) return { booked: false };
    await recordUsage(tx, input.usage);
    await finishLease(tx, {
      leaseId: input.leaseId,
      model: input.model,
      headers: input.headers,
      actualTokens: input.actualTokens,
      now: input.now,
    });
    return { booked: true, ...(settled.spend ? { spend: settled.spend } : {}) };
  });
}
