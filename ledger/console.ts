/**
 * The admin console's reads beyond the store's: cost per local day over a run of consecutive days. A
 * usage row belongs to the day of its `started_at` (as in the weekly report); sums are exact bigints.
 */
import type { Nanos } from '../domain/money';
import { asBigint, type SqlQueryable } from './sql';

/**
 * Cost per day between consecutive `midnights` (n + 1 instants for n days), optionally of one team.
 * Returns n sums, oldest first.
 */
export async function dailyCost(db: SqlQueryable, midnights: Date[], team?: string): Promise<Nanos[]> {
  if (midnights.length < 2) throw new RangeError('at least two midnights');
  const iso = midnights.map((at) => at.toISOString());
  const params: unknown[] = [iso[0], iso.at(-1), iso.slice(1, -1)];
  if (team !== undefined) params.push(team);
  const { rows } = await db.query(
    `SELECT width_bucket(started_at, $3::timestamptz[]) AS day, COALESCE(SUM(cost_nanos), 0) AS cost_nanos
       FROM usage_records
      WHERE started_at >= $1::timestamptz AND started_at < $2::timestamptz
            ${team !== undefined ? 'AND team = $4' : ''}
      GROUP BY day ORDER BY day`,
    params,
  );
  const days = Array.from({ length: midnights.length - 1 }, () => 0n);
  for (const row of rows) days[Number(row.day)] = asBigint(row.cost_nanos, 'cost_nanos');
  return days;
}
