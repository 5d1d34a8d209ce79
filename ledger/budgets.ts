/**
 * Budget reservations and spend per scope and period.
 *
 * Concurrency: every reservation locks the org row of its period and then its team row (always in that
 * order, one statement each) with INSERT ... ON CONFLICT DO UPDATE, which takes the row lock and returns
 * the newest committed committed/held values even after waiting (READ COMMITTED re-reads the locked
 * row). The check `committed + held + amount <= limit` and the increment of held happen under those
 * locks in the same transaction, so two reservations of the same org and period run one after the
 * other, on one connection or on a hundred processes. Nothing can overspend the holds.
 */
import type { Nanos } from '../domain/money';
import { ReservationMismatchError, ReservationNotFoundError, ReservationStateError } from './errors';
import { assertPeriod, assertTeam, ORG_SCOPE, teamScope } from './period';
import {
  asBigint,
  asDate,
  asNullableBigint,
  asNullableDate,
  asNullableString,
  asString,
  RetryTransaction,
  type SqlQueryable,
  type SqlRow,
  type SqlSession,
} from './sql';

export type ReservationState = 'held' | 'settled' | 'released' | 'unknown' | 'refused';
export type BudgetRefusalReason = 'team_budget' | 'org_budget';

export interface Reservation {
  id: string;
  requestId: string;
  team: string | null;
  period: string;
  /** the amount held (the estimate) */
  amount: Nanos;
  state: ReservationState;
  /** the actual cost charged at settlement */
  settledAmount: Nanos | null;
  refusalReason: BudgetRefusalReason | null;
  /** for a refused reservation: what was left in the refusing scope */
  remaining: Nanos | null;
  createdAt: Date;
  updatedAt: Date;
  unknownAt: Date | null;
  resolvedAt: Date | null;
}

export interface ReserveInput {
  reservationId: string;
  /** null: an org-level call charged to the org scope only */
  team: string | null;
  period: string;
  amount: Nanos;
  /** null: no team cap */
  teamLimit: Nanos | null;
  /** null: no org cap */
  orgLimit: Nanos | null;
  requestId: string;
}

export type ReserveResult =
  | { ok: true; reservation: Reservation; replayed: boolean }
  | { ok: false; reason: BudgetRefusalReason; remaining: Nanos; reservation: Reservation; replayed: boolean };

export interface ReservationChange {
  reservation: Reservation;
  /** false when the call found the reservation already in the target state */
  changed: boolean;
}

export interface ScopeSpend {
  scope: string;
  period: string;
  /** the limit passed with the latest reservation (null: uncapped or never reserved) */
  limit: Nanos | null;
  committed: Nanos;
  /** open holds, including reservations in state unknown */
  held: Nanos;
  /** the part of `held` whose outcome is unknown */
  unknown: Nanos;
}

export const RESERVATION_COLUMNS = `id, request_id, team, period, amount_nanos, state, settled_nanos, refusal_reason,
  remaining_nanos, created_at, updated_at, unknown_at, resolved_at`;

export function toReservation(row: SqlRow): Reservation {
  return {
    id: asString(row.id, 'id'),
    requestId: asString(row.request_id, 'request_id'),
    team: asNullableString(row.team, 'team'),
    period: asString(row.period, 'period'),
    amount: asBigint(row.amount_nanos, 'amount_nanos'),
    state: asString(row.state, 'state') as ReservationState,
    settledAmount: asNullableBigint(row.settled_nanos, 'settled_nanos'),
    refusalReason: asNullableString(row.refusal_reason, 'refusal_reason') as BudgetRefusalReason | null,
    remaining: asNullableBigint(row.remaining_nanos, 'remaining_nanos'),
    createdAt: asDate(row.created_at, 'created_at'),
    updatedAt: asDate(row.updated_at, 'updated_at'),
    unknownAt: asNullableDate(row.unknown_at, 'unknown_at'),
    resolvedAt: asNullableDate(row.resolved_at, 'resolved_at'),
  };
}

export function assertNanos(name: string, value: Nanos): void {
  if (typeof value !== 'bigint' || value < 0n) throw new RangeError(`${name} must be a bigint >= 0 nanos`);
}

export function assertId(name: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0)
    throw new RangeError(`${name} must be a non-empty string`);
}

async function findReservation(tx: SqlQueryable, id: string, lock = false): Promise<Reservation | null> {
  const { rows } = await tx.query(
    `SELECT ${RESERVATION_COLUMNS} FROM budget_reservations WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ? toReservation(rows[0]) : null;
}

export async function getReservation(db: SqlQueryable, id: string): Promise<Reservation | null> {
  return findReservation(db, id);
}

function replay(existing: Reservation, input: ReserveInput): ReserveResult {
  const differences: string[] = [];
  if (existing.team !== input.team) differences.push(`team ${existing.team}`);
  if (existing.period !== input.period) differences.push(`period ${existing.period}`);
  if (existing.amount !== input.amount) differences.push(`amount ${existing.amount}`);
  if (existing.requestId !== input.requestId) differences.push(`request ${existing.requestId}`);
  if (differences.length > 0) throw new ReservationMismatchError(existing.id, differences.join(', '));
  if (existing.state === 'refused') {
    return {
      ok: false,
      reason: existing.refusalReason ?? 'org_budget',
      remaining: existing.remaining ?? 0n,
      reservation: existing,
      replayed: true,
    };
  }
  return { ok: true, reservation: existing, replayed: true };
}

export interface LockedBudget {
  committed: Nanos;
  held: Nanos;
}

/**
 * Create-or-lock the budget rows of `scopes` (org first, then the team: the upsert takes each row's
 * lock in the order of its input, whether it inserts the row or finds it), recording the caller's
 * current limits; returns their locked balances by scope.
 */
export async function lockBudgets(
  tx: SqlQueryable,
  period: string,
  scopes: ReadonlyArray<{ scope: string; limit: Nanos | null }>,
): Promise<Map<string, LockedBudget>> {
  const { rows } = await tx.query(
    `INSERT INTO budgets (scope, period, limit_nanos)
     SELECT s.scope, $2, s.limit_nanos FROM unnest($1::text[], $3::bigint[]) WITH ORDINALITY AS s(scope, limit_nanos, n)
      ORDER BY s.n
     ON CONFLICT (scope, period) DO UPDATE SET limit_nanos = EXCLUDED.limit_nanos, updated_at = now()
     RETURNING scope, committed_nanos, held_nanos`,
    [scopes.map(({ scope }) => scope), period, scopes.map(({ limit }) => limit?.toString() ?? null)],
  );
  const locked = new Map<string, LockedBudget>();
  for (const row of rows) {
    locked.set(asString(row.scope, 'scope'), {
      committed: asBigint(row.committed_nanos, 'committed_nanos'),
      held: asBigint(row.held_nanos, 'held_nanos'),
    });
  }
  for (const { scope } of scopes) {
    if (!locked.has(scope)) throw new Error(`budget row ${scope} ${period} was not returned`);
  }
  return locked;
}

export function room(
  limit: Nanos | null,
  budget: LockedBudget,
  amount: Nanos,
): { fits: boolean; remaining: Nanos } {
  if (limit === null) return { fits: true, remaining: 0n };
  const left = limit - budget.committed - budget.held;
  return { fits: amount <= left, remaining: left > 0n ? left : 0n };
}

/**
 * Hold `amount` against the team and the org for `period` if both have room, atomically. Idempotent on
 * `reservationId`: a repeated call returns the first call's outcome (refusals included) and never holds
 * twice; a repeated call with a different team, period, amount or request id throws.
 */
export async function reserve(db: SqlSession, input: ReserveInput): Promise<ReserveResult> {
  assertId('reservationId', input.reservationId);
  assertId('requestId', input.requestId);
  assertPeriod(input.period);
  if (input.team !== null) assertTeam(input.team);
  assertNanos('amount', input.amount);
  if (input.teamLimit !== null) assertNanos('teamLimit', input.teamLimit);
  if (input.orgLimit !== null) assertNanos('orgLimit', input.orgLimit);

  return db.transaction(async (tx) => {
    // lock order: org, then team (one statement)
    const scopes = [{ scope: ORG_SCOPE, limit: input.orgLimit }];
    if (input.team !== null) scopes.push({ scope: teamScope(input.team), limit: input.teamLimit });
    const locked = await lockBudgets(tx, input.period, scopes);
    const org = locked.get(ORG_SCOPE)!;
    const team = input.team === null ? null : locked.get(teamScope(input.team))!;

    let refusal: { reason: BudgetRefusalReason; remaining: Nanos } | null = null;
    const teamRoom = team === null ? null : room(input.teamLimit, team, input.amount);
    const orgRoom = room(input.orgLimit, org, input.amount);
    if (teamRoom && !teamRoom.fits) refusal = { reason: 'team_budget', remaining: teamRoom.remaining };
    else if (!orgRoom.fits) refusal = { reason: 'org_budget', remaining: orgRoom.remaining };

    // the reservation and, when it holds, the held amount of its budget rows, in one statement
    const { rows } = await tx.query(
      `WITH inserted AS (
         INSERT INTO budget_reservations (id, request_id, team, period, amount_nanos, state, refusal_reason, remaining_nanos)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO NOTHING
         RETURNING ${RESERVATION_COLUMNS}
       ), held AS (
         UPDATE budgets SET held_nanos = held_nanos + $5, updated_at = now()
          WHERE period = $4 AND scope = ANY($9::text[]) AND EXISTS (SELECT 1 FROM inserted WHERE state = 'held')
       )
       SELECT * FROM inserted`,
      [
        input.reservationId,
        input.requestId,
        input.team,
        input.period,
        input.amount,
        refusal ? 'refused' : 'held',
        refusal?.reason ?? null,
        refusal?.remaining ?? null,
        scopes.map(({ scope }) => scope),
      ],
    );
    // the id was reserved before (a repeated call), or concurrently while this call waited for the
    // locks: that first outcome is the answer (nothing was held here: the held amount is added only
    // with this call's own row)
    if (!rows[0]) {
      const earlier = await findReservation(tx, input.reservationId);
      if (earlier) return replay(earlier, input);
      throw new RetryTransaction(`reservation ${input.reservationId} vanished after a conflict`);
    }
    const reservation = toReservation(rows[0]);
    if (refusal) return { ok: false, ...refusal, reservation, replayed: false };
    return { ok: true, reservation, replayed: false };
  });
}

/**
 * Apply `delta` to the reservation's budget rows (org, then team: they are locked in that order, as
 * `reserve` locks them) and move the reservation to `state`, in one statement.
 */
async function moveMoney(
  tx: SqlQueryable,
  reservation: Reservation,
  delta: { held?: Nanos; committed?: Nanos },
  state: ReservationState,
  settled: Nanos | null = null,
): Promise<Reservation> {
  const scopes = [ORG_SCOPE];
  if (reservation.team !== null) scopes.push(teamScope(reservation.team));
  const { rows } = await tx.query(
    `WITH moved AS (
       UPDATE budgets b
          SET held_nanos = b.held_nanos + $3, committed_nanos = b.committed_nanos + $4, updated_at = now()
         FROM (SELECT scope FROM budgets WHERE period = $2 AND scope = ANY($5::text[])
                ORDER BY scope COLLATE "C" FOR UPDATE) l
        WHERE b.period = $2 AND b.scope = l.scope
        RETURNING b.scope
     )
     ${setStateSql('$1', '$6', '$7')} AND (SELECT count(*) FROM moved) = $8
     RETURNING ${RESERVATION_COLUMNS}`,
    [
      reservation.id,
      reservation.period,
      delta.held ?? 0n,
      delta.committed ?? 0n,
      scopes,
      state,
      settled,
      scopes.length,
    ],
  );
  if (!rows[0])
    throw new Error(`a budget row of reservation ${reservation.id} (${reservation.period}) is missing`);
  return toReservation(rows[0]);
}

type Transition = (tx: SqlQueryable, current: Reservation) => Promise<ReservationChange>;

async function transition(
  db: SqlSession,
  reservationId: string,
  step: Transition,
): Promise<ReservationChange> {
  assertId('reservationId', reservationId);
  return db.transaction(async (tx) => {
    const current = await findReservation(tx, reservationId, true);
    if (!current) throw new ReservationNotFoundError(reservationId);
    return step(tx, current);
  });
}

/** The reservation's state change, with the placeholders of its id, new state and settled amount. */
function setStateSql(id: string, state: string, settled: string): string {
  return `UPDATE budget_reservations
        SET state = ${state}, settled_nanos = ${settled}, updated_at = now(),
            unknown_at = CASE WHEN ${state} = 'unknown' THEN now() ELSE unknown_at END,
            resolved_at = CASE WHEN ${state} IN ('settled', 'released') THEN now() ELSE resolved_at END
      WHERE id = ${id}`;
}

async function setState(tx: SqlQueryable, id: string, state: ReservationState): Promise<Reservation> {
  const { rows } = await tx.query(`${setStateSql('$1', '$2', 'NULL')} RETURNING ${RESERVATION_COLUMNS}`, [
    id,
    state,
  ]);
  if (!rows[0]) throw new ReservationNotFoundError(id);
  return toReservation(rows[0]);
}

/**
 * Charge the actual cost: the hold leaves `held` and `actualCost` enters `committed`, even when it is
 * more than the hold (the overrun is recorded, never dropped). Works from held and from unknown (a
 * reconciled call). Repeating with the same cost is a no-op; a different cost or a released or refused
 * reservation throws. A settlement that changed something also gives the spend (committed + held) of
 * its scopes after it, for the alert check.
 */
export async function settle(
  db: SqlSession,
  reservationId: string,
  actualCost: Nanos,
): Promise<ReservationChange & { spend?: Map<string, Nanos> }> {
  assertNanos('actualCost', actualCost);
  assertId('reservationId', reservationId);
  // the usual case, a held (or unknown) reservation: its state, then its budget rows (org, then team,
  // locked in that order as `reserve` locks them), in one statement
  const settled = await db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `WITH r AS (
         ${setStateSql('$1', "'settled'", '$2')} AND state IN ('held', 'unknown')
         RETURNING ${RESERVATION_COLUMNS}
       ), l AS (
         SELECT b.scope FROM budgets b, r
          WHERE b.period = r.period AND (b.scope = 'org' OR b.scope = 'team:' || r.team)
          ORDER BY b.scope COLLATE "C" FOR UPDATE OF b
       ), moved AS (
         UPDATE budgets b
            SET held_nanos = b.held_nanos - r.amount_nanos, committed_nanos = b.committed_nanos + $2,
                updated_at = now()
           FROM r, l
          WHERE b.period = r.period AND b.scope = l.scope
          RETURNING b.scope, b.committed_nanos + b.held_nanos AS used
       )
       SELECT r.*, moved.scope AS budget_scope, moved.used AS budget_used FROM r LEFT JOIN moved ON true`,
      [reservationId, actualCost],
    );
    if (!rows[0]) return null;
    const reservation = toReservation(rows[0]);
    const spend = new Map<string, Nanos>();
    for (const row of rows) {
      if (row.budget_scope !== null)
        spend.set(asString(row.budget_scope, 'scope'), asBigint(row.budget_used, 'used'));
    }
    if (spend.size !== (reservation.team === null ? 1 : 2)) {
      throw new Error(`a budget row of reservation ${reservation.id} (${reservation.period}) is missing`);
    }
    return { reservation, changed: true, spend };
  });
  if (settled) return settled;
  return transition(db, reservationId, async (tx, current) => {
    if (current.state === 'settled') {
      if (current.settledAmount === actualCost) return { reservation: current, changed: false };
      throw new ReservationStateError(
        current.id,
        current.state,
        'settle',
        `already settled at ${current.settledAmount}`,
      );
    }
    throw new ReservationStateError(current.id, current.state, 'settle');
  });
}

/** Return the hold: the call did not happen or was not charged. From held or unknown; idempotent. */
export async function release(db: SqlSession, reservationId: string): Promise<ReservationChange> {
  return transition(db, reservationId, async (tx, current) => {
    if (current.state === 'released') return { reservation: current, changed: false };
    if (current.state !== 'held' && current.state !== 'unknown') {
      throw new ReservationStateError(current.id, current.state, 'release');
    }
    return {
      reservation: await moveMoney(tx, current, { held: -current.amount }, 'released'),
      changed: true,
    };
  });
}

/**
 * Flag a held reservation whose outcome is not known: it stays charged at the held amount until
 * reconciliation settles or releases it. Idempotent; a reservation already settled or released keeps
 * its known outcome (changed: false).
 */
export async function markUnknown(db: SqlSession, reservationId: string): Promise<ReservationChange> {
  return transition(db, reservationId, async (tx, current) => {
    if (current.state === 'refused')
      throw new ReservationStateError(current.id, current.state, 'mark unknown');
    if (current.state !== 'held') return { reservation: current, changed: false };
    return { reservation: await setState(tx, current.id, 'unknown'), changed: true };
  });
}

export interface ReservationFilter {
  states?: ReservationState[];
  period?: string;
  team?: string | null;
  /** only reservations created before this instant (e.g. stale holds) */
  createdBefore?: Date;
  limit?: number;
}

export async function listReservations(
  db: SqlQueryable,
  filter: ReservationFilter = {},
): Promise<Reservation[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (filter.states) add('state = ANY(?::text[])', filter.states);
  if (filter.period !== undefined) add('period = ?', filter.period);
  if (filter.team === null) where.push('team IS NULL');
  else if (filter.team !== undefined) add('team = ?', filter.team);
  if (filter.createdBefore) add('created_at < ?', filter.createdBefore);
  params.push(filter.limit ?? 1000);
  const { rows } = await db.query(
    `SELECT ${RESERVATION_COLUMNS} FROM budget_reservations
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at, id LIMIT $${params.length}`,
    params,
  );
  return rows.map(toReservation);
}

/** Reservations whose outcome is unknown, oldest first: the reconciliation work list. */
export async function listUnknown(db: SqlQueryable, filter: { period?: string; limit?: number } = {}) {
  return listReservations(db, { ...filter, states: ['unknown'] });
}

function toSpend(row: SqlRow): ScopeSpend {
  return {
    scope: asString(row.scope, 'scope'),
    period: asString(row.period, 'period'),
    limit: asNullableBigint(row.limit_nanos, 'limit_nanos'),
    committed: asBigint(row.committed_nanos, 'committed_nanos'),
    held: asBigint(row.held_nanos, 'held_nanos'),
    unknown: asBigint(row.unknown_nanos, 'unknown_nanos'),
  };
}

const SPEND_SELECT = `
  SELECT b.scope, b.period, b.limit_nanos, b.committed_nanos, b.held_nanos,
         COALESCE((SELECT SUM(r.amount_nanos) FROM budget_reservations r
                    WHERE r.period = b.period AND r.state = 'unknown'
                      AND (b.scope = 'org' OR 'team:' || r.team = b.scope)), 0) AS unknown_nanos
    FROM budgets b`;

/** Spend of one scope ('org' or 'team:<name>') in one period; zeros when nothing was reserved yet. */
export async function getSpend(db: SqlQueryable, scope: string, period: string): Promise<ScopeSpend> {
  assertPeriod(period);
  const { rows } = await db.query(`${SPEND_SELECT} WHERE b.scope = $1 AND b.period = $2`, [scope, period]);
  return rows[0] ? toSpend(rows[0]) : { scope, period, limit: null, committed: 0n, held: 0n, unknown: 0n };
}

export async function getTeamSpend(db: SqlQueryable, team: string, period: string): Promise<ScopeSpend> {
  return getSpend(db, teamScope(team), period);
}

/** Every scope with a budget row in `period`: the org first, then teams by name. */
export async function listSpend(db: SqlQueryable, period: string): Promise<ScopeSpend[]> {
  assertPeriod(period);
  const { rows } = await db.query(
    `${SPEND_SELECT} WHERE b.period = $1 ORDER BY b.scope = 'org' DESC, b.scope`,
    [period],
  );
  return rows.map(toSpend);
}
