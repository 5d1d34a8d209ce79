/**
 * Claiming a reservation for one upstream call (see migrations/0005_call_claims.sql). The claim is a
 * conditional UPDATE, so of any number of concurrent or repeated claimers exactly one wins.
 */
import type { SqlQueryable } from './sql';

export type ClaimResult =
  | { claimed: true }
  /** someone claimed it before (a worker that died mid-call, or a replay): its call's outcome is unknown */
  | { claimed: false; claimedBy: string | null; state: string }
  | { claimed: false; missing: true };

export async function claimCall(
  db: SqlQueryable,
  reservationId: string,
  claimer: string,
): Promise<ClaimResult> {
  const updated = await db.query(
    `UPDATE budget_reservations SET call_claimed_at = now(), call_claimed_by = $2, updated_at = now()
      WHERE id = $1 AND state = 'held' AND call_claimed_at IS NULL`,
    [reservationId, claimer],
  );
  if (updated.rowCount === 1) return { claimed: true };
  const { rows } = await db.query<{ state: string; call_claimed_by: string | null }>(
    'SELECT state, call_claimed_by FROM budget_reservations WHERE id = $1',
    [reservationId],
  );
  const row = rows[0];
  if (!row) return { claimed: false, missing: true };
  return { claimed: false, claimedBy: row.call_claimed_by, state: row.state };
}

/** Who claimed the reservation's call (null: nobody, so no upstream call can have happened). */
export async function callClaimedBy(db: SqlQueryable, reservationId: string): Promise<string | null> {
  const { rows } = await db.query<{ claimed_at: unknown; claimed_by: string | null }>(
    'SELECT call_claimed_at AS claimed_at, call_claimed_by AS claimed_by FROM budget_reservations WHERE id = $1',
    [reservationId],
  );
  const row = rows[0];
  if (!row || row.claimed_at === null || row.claimed_at === undefined) return null;
  return row.claimed_by ?? '';
}

/** Whether a call was ever claimed on the reservation (false: no upstream call can have happened). */
export async function callWasClaimed(db: SqlQueryable, reservationId: string): Promise<boolean> {
  return (await callClaimedBy(db, reservationId)) !== null;
}
