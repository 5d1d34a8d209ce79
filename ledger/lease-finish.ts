/**
 * The end of a completed call's lease in two statements: Groq's rate-limit headers into the model's
 * bucket, the lease's token correction in each of its buckets and the lease's end. The same changes as
 * `recordUpstreamHeaders`, `correctTokens` and `releaseLease` one after the other (ratelimit.ts, whose
 * pure rules it uses), under one lock of the buckets (in the global order) and in one write.
 */
import { correctionOf, modelBucket, observationOf, upstreamChanges } from './ratelimit';
import { asNullableNumber, asString, type SqlQueryable, type SqlRow } from './sql';
import type { HeaderSource, UpstreamObservation } from './upstream-headers';

export interface FinishLeaseInput {
  leaseId: string;
  model: string;
  /** the upstream answer's rate-limit headers */
  headers: HeaderSource | UpstreamObservation;
  /** prompt - cached + completion tokens */
  actualTokens: number;
  /** epoch ms */
  now: number;
}

/** The bucket columns the finish writes back, whole: the rows are locked, so absolute values are safe. */
export const BOOKED_BUCKET_COLUMNS = [
  'day_tokens',
  'upstream_tokens_observed_at',
  'upstream_limit_tokens',
  'upstream_remaining_tokens',
  'upstream_tokens_reset_at',
  'upstream_tokens_consumed',
  'upstream_requests_observed_at',
  'upstream_limit_requests',
  'upstream_remaining_requests',
  'upstream_requests_reset_at',
  'upstream_requests_consumed',
  'upstream_blocked_until',
  'updated_at',
] as const;

function numberOrNull(row: SqlRow, column: string): number | null {
  return asNullableNumber(row[column], column);
}

export async function finishLease(tx: SqlQueryable, input: FinishLeaseInput): Promise<void> {
  const { leaseId, actualTokens, now } = input;
  if (!Number.isSafeInteger(actualTokens) || actualTokens < 0) {
    throw new RangeError('actualTokens must be a whole number >= 0');
  }
  const observation = observationOf(input.headers, now);
  const modelKey = modelBucket(input.model);
  // Create-if-missing and lock the lease's buckets and the model's, in the global order, with the lease's
  // rows beside them. Only this attempt's booking writes its lease rows, and it runs under the
  // reservation's lock, so they need no lock of their own.
  const { rows } = await tx.query(
    `WITH lease AS (
       SELECT bucket, tokens, acquired_at, day_start, actual_tokens FROM rate_leases WHERE lease_id = $1
     ), locked AS (
       INSERT INTO rate_buckets (bucket)
       SELECT k FROM (SELECT bucket AS k FROM lease UNION SELECT $2::text) keys ORDER BY k COLLATE "C"
       ON CONFLICT (bucket) DO UPDATE SET bucket = EXCLUDED.bucket
       RETURNING *
     )
     SELECT locked.*, lease.bucket AS lease_bucket, lease.tokens AS lease_tokens,
            lease.acquired_at AS lease_acquired_at, lease.day_start AS lease_day_start,
            lease.actual_tokens AS lease_actual_tokens
       FROM locked LEFT JOIN lease ON lease.bucket = locked.bucket`,
    [leaseId, modelKey],
  );
  const keys: string[] = [];
  const values: Record<(typeof BOOKED_BUCKET_COLUMNS)[number], Array<number | null>> = Object.fromEntries(
    BOOKED_BUCKET_COLUMNS.map((column) => [column, []]),
  ) as unknown as Record<(typeof BOOKED_BUCKET_COLUMNS)[number], Array<number | null>>;
  const corrected: string[] = [];
  for (const locked of rows) {
    const key = asString(locked.bucket, 'bucket');
    const row: SqlRow = { ...locked };
    if (key === modelKey) Object.assign(row, mergeUpstream(row, upstreamChanges(row, observation, now)));
    // corrected once: a lease row that has its actual count keeps it
    if (
      locked.lease_bucket !== null &&
      locked.lease_bucket !== undefined &&
      locked.lease_actual_tokens === null
    ) {
      const lease = {
        tokens: locked.lease_tokens,
        acquired_at: locked.lease_acquired_at,
        day_start: locked.lease_day_start,
      };
      const correction = correctionOf(row, lease, actualTokens);
      if (correction.sameDay) row.day_tokens = Math.max(0, Number(row.day_tokens) + correction.delta);
      if (correction.countedUpstream) {
        row.upstream_tokens_consumed = Math.max(0, Number(row.upstream_tokens_consumed) + correction.delta);
      }
      corrected.push(key);
    }
    keys.push(key);
    for (const column of BOOKED_BUCKET_COLUMNS) values[column].push(numberOrNull(row, column));
  }
  const casts = BOOKED_BUCKET_COLUMNS.map((_column, index) => `$${index + 5}::bigint[]`).join(', ');
  const sets = BOOKED_BUCKET_COLUMNS.map((column) => `${column} = v.${column}`);
  await tx.query(
    `WITH buckets AS (
       UPDATE rate_buckets AS r SET ${sets.join(', ')}
         FROM unnest($1::text[], ${casts}) AS v(bucket, ${BOOKED_BUCKET_COLUMNS.join(', ')})
        WHERE r.bucket = v.bucket
     ), logged AS (
       UPDATE rate_admissions SET tokens = $3::bigint WHERE bucket = ANY($4::text[]) AND lease_id = $2::text
     )
     UPDATE rate_leases
        SET actual_tokens = CASE WHEN bucket = ANY($4::text[]) THEN $3::bigint ELSE actual_tokens END,
            released_at = COALESCE(released_at, $${BOOKED_BUCKET_COLUMNS.length + 5}::bigint)
      WHERE lease_id = $2::text`,
    [keys, leaseId, actualTokens, corrected, ...BOOKED_BUCKET_COLUMNS.map((column) => values[column]), now],
  );
}

/** A locked row with an upstream observation's changes applied as `recordUpstreamHeaders` applies them. */
function mergeUpstream(row: SqlRow, changes: Record<string, number | null>): SqlRow {
  const merged: SqlRow = { ...row };
  for (const [column, value] of Object.entries(changes)) {
    if (column === 'upstream_blocked_until' || column === 'updated_at') {
      merged[column] = Math.max(Number(row[column] ?? 0), value ?? 0);
    } else merged[column] = value;
  }
  return merged;
}
