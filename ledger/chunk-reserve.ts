/**
 * Budget reservations of a chunk of attempts (a batch's items) in one transaction: the team's and the
 * org's budget rows are locked once (org, then team, as `reserve` locks them), the chunk's reservations
 * that exist already are read under those locks, and every new one is decided in order against what
 * the ones before it held, exactly as that many `reserve` calls one after the other would decide: an
 * attempt that fits is held, one that does not is refused (and recorded as a refusal) while the next,
 * smaller one may still fit. All new rows, the held total and the refusals are written in one statement.
 *
 * Idempotent per reservation id: an id reserved before (by an earlier run of the chunk, or by the
 * one-item path) answers with its stored outcome and holds nothing again. Never over budget: the checks
 * and the increment of `held` happen under the budget rows' locks in one transaction.
 */
import type { Nanos } from '../domain/money';
import {
  lockBudgets,
  RESERVATION_COLUMNS,
  room,
  toReservation,
  type BudgetRefusalReason,
  type Reservation,
} from './budgets';
import { assertPeriod, assertTeam, ORG_SCOPE, teamScope } from './period';
import { RetryTransaction, type SqlSession } from './sql';

export interface ChunkReserveItem {
  reservationId: string;
  requestId: string;
  amount: Nanos;
}

export interface ReserveManyInput {
  team: string;
  period: string;
  /** null: no team cap */
  teamLimit: Nanos | null;
  /** null: no org cap */
  orgLimit: Nanos | null;
  items: readonly ChunkReserveItem[];
  /** when a refusal is recorded */
  at: Date;
}

export type ChunkReservation =
  | { ok: true; reservation: Reservation; replayed: boolean }
  | { ok: false; reason: BudgetRefusalReason; remaining: Nanos; reservation: Reservation; replayed: boolean };

function outcomeOf(reservation: Reservation, replayed: boolean): ChunkReservation {
  if (reservation.state !== 'refused') return { ok: true, reservation, replayed };
  return {
    ok: false,
    reason: reservation.refusalReason ?? 'org_budget',
    remaining: reservation.remaining ?? 0n,
    reservation,
    replayed,
  };
}

/** One outcome per item, in the order of `items`. */
export async function reserveMany(db: SqlSession, input: ReserveManyInput): Promise<ChunkReservation[]> {
  assertPeriod(input.period);
  assertTeam(input.team);
  const ids = new Set<string>();
  for (const item of input.items) {
    if (!item.reservationId || !item.requestId)
      throw new RangeError('reservation and request ids are required');
    if (ids.has(item.reservationId))
      throw new RangeError(`reservation ${item.reservationId} is listed twice`);
    if (typeof item.amount !== 'bigint' || item.amount < 0n)
      throw new RangeError('amount must be a bigint >= 0');
    ids.add(item.reservationId);
  }
  for (const limit of [input.teamLimit, input.orgLimit]) {
    if (limit !== null && (typeof limit !== 'bigint' || limit < 0n))
      throw new RangeError('limits must be >= 0');
  }
  if (input.items.length === 0) return [];
  const teamKey = teamScope(input.team);

  return db.transaction(async (tx) => {
    const locked = await lockBudgets(tx, input.period, [
      { scope: ORG_SCOPE, limit: input.orgLimit },
      { scope: teamKey, limit: input.teamLimit },
    ]);
    const org = { ...locked.get(ORG_SCOPE)! };
    const team = { ...locked.get(teamKey)! };
    // every reservation of these ids was made under the same locks, so this read sees all of them
    const { rows } = await tx.query(
      `SELECT ${RESERVATION_COLUMNS} FROM budget_reservations WHERE id = ANY($1::text[])`,
      [[...ids]],
    );
    const existing = new Map(rows.map((row) => [String(row.id), toReservation(row)]));

    const fresh: {
      item: ChunkReserveItem;
      refusal: { reason: BudgetRefusalReason; remaining: Nanos } | null;
    }[] = [];
    for (const item of input.items) {
      if (existing.has(item.reservationId)) continue;
      const teamRoom = room(input.teamLimit, team, item.amount);
      const orgRoom = room(input.orgLimit, org, item.amount);
      let refusal: { reason: BudgetRefusalReason; remaining: Nanos } | null = null;
      if (!teamRoom.fits) refusal = { reason: 'team_budget', remaining: teamRoom.remaining };
      else if (!orgRoom.fits) refusal = { reason: 'org_budget', remaining: orgRoom.remaining };
      if (!refusal) {
        team.held += item.amount;
        org.held += item.amount;
      }
      fresh.push({ item, refusal });
    }

    const created = new Map<string, Reservation>();
    if (fresh.length > 0) {
      // the new reservations, the held total of both budget rows and the refusals, in one statement
      const inserted = await tx.query(
        `WITH inserted AS (
           INSERT INTO budget_reservations (id, request_id, team, period, amount_nanos, state, refusal_reason, remaining_nanos)
           SELECT v.id, v.request_id, $5, $6, v.amount, v.state, v.reason, v.remaining
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $7::text[], $8::bigint[])
                  AS v(id, request_id, amount, state, reason, remaining)
           ON CONFLICT (id) DO NOTHING
           RETURNING ${RESERVATION_COLUMNS}
         ), held AS (
           UPDATE budgets SET held_nanos = held_nanos + (SELECT COALESCE(sum(amount_nanos), 0) FROM inserted WHERE state = 'held'),
                  updated_at = now()
            WHERE period = $6 AND scope = ANY($9::text[]) AND EXISTS (SELECT 1 FROM inserted WHERE state = 'held')
         ), refused AS (
           INSERT INTO refusals (request_id, period, team, reason, detail, at)
           SELECT request_id, period, team, 'budget_exceeded', refusal_reason, $10 FROM inserted WHERE state = 'refused'
           ON CONFLICT (request_id) DO NOTHING
         )
         SELECT * FROM inserted`,
        [
          fresh.map(({ item }) => item.reservationId),
          fresh.map(({ item }) => item.requestId),
          fresh.map(({ item }) => item.amount.toString()),
          fresh.map(({ refusal }) => (refusal ? 'refused' : 'held')),
          input.team,
          input.period,
          fresh.map(({ refusal }) => refusal?.reason ?? null),
          fresh.map(({ refusal }) => refusal?.remaining.toString() ?? null),
          [ORG_SCOPE, teamKey],
          input.at,
        ],
      );
      for (const row of inserted.rows) created.set(String(row.id), toReservation(row));
      // a row made by someone who did not take the locks first: decide again from the start
      if (created.size !== fresh.length)
        throw new RetryTransaction('a chunk reservation appeared concurrently');
    }
    return input.items.map((item) => {
      const found = existing.get(item.reservationId);
      return found ? outcomeOf(found, true) : outcomeOf(created.get(item.reservationId)!, false);
    });
  });
}
