/** Budget alerts already sent: each (scope, period, threshold) alerts at most once. */
import { assertPeriod } from './period';
import { asDate, asNumber, asString, type SqlQueryable } from './sql';

export interface SentAlert {
  scope: string;
  period: string;
  threshold: number;
  sentAt: Date;
}

/**
 * Claim the right to send the alert for `threshold` (e.g. percent of the budget) in `scope` and `period`.
 * True only for the first caller, across all processes; everyone else gets false.
 */
export async function recordAlertOnce(
  db: SqlQueryable,
  scope: string,
  period: string,
  threshold: number,
  at: Date = new Date(),
): Promise<boolean> {
  assertPeriod(period);
  if (!Number.isSafeInteger(threshold) || threshold <= 0)
    throw new RangeError('threshold must be a whole number > 0');
  const result = await db.query(
    `INSERT INTO alerts_sent (scope, period, threshold, sent_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (scope, period, threshold) DO NOTHING`,
    [scope, period, threshold, at],
  );
  return result.rowCount === 1;
}

export async function listAlerts(db: SqlQueryable, period: string): Promise<SentAlert[]> {
  const { rows } = await db.query(
    'SELECT scope, period, threshold, sent_at FROM alerts_sent WHERE period = $1 ORDER BY scope, threshold',
    [period],
  );
  return rows.map((row) => ({
    scope: asString(row.scope, 'scope'),
    period: asString(row.period, 'period'),
    threshold: asNumber(row.threshold, 'threshold'),
    sentAt: asDate(row.sent_at, 'sent_at'),
  }));
}
