/**
 * Booking the completed calls of a chunk (a batch's items of one model) inside one transaction, in three
 * statements whatever the chunk's size: every reservation settled at its exact cost with both budget
 * rows moved by the chunk's totals and every usage row written (one statement, only for the
 * reservations this call settled, so nothing is booked twice); the buckets locked with the chunk's lease
 * rows (one statement); Groq's rate-limit headers, each lease's token correction and every lease's end
 * written back (one statement). The same changes as one `bookCompletion` per item (`settle`,
 * `recordUsage`, `finishLease`), with the same lock order: reservations, budget rows (org, then team),
 * rate buckets (in the global order).
 */
import type { Nanos } from '../domain/money';
import { BOOKED_BUCKET_COLUMNS } from './lease-finish';
import { correctionOf, modelBucket, observationOf, upstreamChanges } from './ratelimit';
import { asNullableNumber, asString, type SqlQueryable, type SqlRow } from './sql';
import type { HeaderSource, UpstreamObservation } from './upstream-headers';
import type { UsageAttempt } from './usage';

export interface ChunkBookingItem {
  reservationId: string;
  cost: Nanos;
  /** the attempt's usage row (outcome success) */
  usage: UsageAttempt;
  leaseId: string;
  /** prompt - cached + completion tokens */
  actualTokens: number;
  /** the answer's rate-limit headers */
  headers: HeaderSource | UpstreamObservation;
}

/** The bucket columns the booking writes back, whole (the rows are locked), as `finishLease` does. */
const COLUMNS = BOOKED_BUCKET_COLUMNS;

/**
 * Book the chunk inside the open transaction `tx`. Gives the reservation ids it settled (an id settled
 * before, by an earlier run, is left as it was and not returned).
 */
export async function bookCompletionsIn(
  tx: SqlQueryable,
  input: { model: string; items: readonly ChunkBookingItem[]; now: number },
): Promise<Set<string>> {
  const { items, now } = input;
  if (items.length === 0) return new Set();
  for (const item of items) {
    if (typeof item.cost !== 'bigint' || item.cost < 0n) throw new RangeError('cost must be a bigint >= 0');
    if (!Number.isSafeInteger(item.actualTokens) || item.actualTokens < 0)
      throw new RangeError('actualTokens must be a whole number >= 0');
    if (item.usage.outcome !== 'success' || item.usage.costNanos !== item.cost)
      throw new RangeError('a chunk books successful attempts at their cost');
  }
  const usage = items.map((item) => item.usage);
  const settled = await tx.query(
    `WITH v AS (
       SELECT * FROM unnest($1::text[], $2::bigint[]) AS v(id, cost)
     ), r AS (
       UPDATE budget_reservations b
          SET state = 'settled', settled_nanos = v.cost, updated_at = now(), resolved_at = now()
         FROM v WHERE b.id = v.id AND b.state IN ('held', 'unknown')
       RETURNING b.id, b.period, b.team, b.amount_nanos, v.cost
     ), sums AS (
       SELECT r.period, s.scope, sum(r.amount_nanos) AS amount, sum(r.cost) AS cost
         FROM r CROSS JOIN LATERAL (SELECT 'org' AS scope UNION ALL SELECT 'team:' || r.team WHERE r.team IS NOT NULL) s
        GROUP BY r.period, s.scope
     ), l AS (
       SELECT b.scope, b.period FROM budgets b JOIN sums ON sums.scope = b.scope AND sums.period = b.period
        ORDER BY b.period, b.scope COLLATE "C" FOR UPDATE OF b
     ), moved AS (
       UPDATE budgets b
          SET held_nanos = b.held_nanos - sums.amount, committed_nanos = b.committed_nanos + sums.cost, updated_at = now()
         FROM sums, l
        WHERE b.scope = sums.scope AND b.period = sums.period AND l.scope = b.scope AND l.period = b.period
        RETURNING b.scope
     ), used AS (
       INSERT INTO usage_records (request_id, attempt, period, team, model, key_name, key_version, gateway_key_id,
              reservation_id, prompt_tokens, completion_tokens, cached_tokens, cost_nanos, batch, upstream_request_id,
              http_status, outcome, started_at, finished_at)
       SELECT u.* FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[],
              $10::text[], $11::text[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::boolean[],
              $17::text[], $18::int[], $19::text[], $20::timestamptz[], $21::timestamptz[])
              AS u(request_id, attempt, period, team, model, key_name, key_version, gateway_key_id, reservation_id,
                   prompt_tokens, completion_tokens, cached_tokens, cost_nanos, batch, upstream_request_id,
                   http_status, outcome, started_at, finished_at)
        WHERE u.reservation_id IN (SELECT id FROM r)
       ON CONFLICT (request_id, attempt) DO NOTHING
     )
     SELECT r.id, r.period, r.team, (SELECT count(*) FROM moved) AS moved, (SELECT count(*) FROM sums) AS scopes FROM r`,
    [
      items.map((item) => item.reservationId),
      items.map((item) => item.cost.toString()),
      usage.map((row) => row.requestId),
      usage.map((row) => row.attempt),
      usage.map((row) => row.period),
      usage.map((row) => row.team),
      usage.map((row) => row.model),
      usage.map((row) => row.keyName),
      usage.map((row) => row.keyVersion),
      usage.map((row) => row.gatewayKeyId ?? null),
      items.map((item) => item.reservationId),
      usage.map((row) => row.promptTokens.toString()),
      usage.map((row) => row.completionTokens.toString()),
      usage.map((row) => (row.cachedTokens ?? 0).toString()),
      usage.map((row) => row.costNanos.toString()),
      usage.map((row) => row.batch ?? false),
      usage.map((row) => row.upstreamRequestId ?? null),
      usage.map((row) => row.httpStatus ?? null),
      usage.map((row) => row.outcome),
      usage.map((row) => row.startedAt),
      usage.map((row) => row.finishedAt ?? null),
    ],
  );
  const booked = new Set(settled.rows.map((row) => asString(row.id, 'id')));
  const first = settled.rows[0];
  if (first && Number(first.moved) !== Number(first.scopes)) {
    throw new Error('a budget row of a settled chunk reservation is missing');
  }
  await finishLeases(tx, input.model, items, now);
  return booked;
}

/**
 * The end of the chunk's leases: Groq's headers into the model's bucket (in the order of the items, a
 * newer observation replacing an older one as `recordUpstreamHeaders` does), each lease row's token
 * correction (once: a row that has its actual count keeps it) and every lease's end, under one lock of
 * the buckets, in two statements.
 */
async function finishLeases(
  tx: SqlQueryable,
  model: string,
  items: readonly ChunkBookingItem[],
  now: number,
): Promise<void> {
  const modelKey = modelBucket(model);
  const leaseIds = items.map((item) => item.leaseId);
  const { rows } = await tx.query(
    `WITH lease AS (
       SELECT lease_id, bucket, tokens, acquired_at, day_start, actual_tokens FROM rate_leases WHERE lease_id = ANY($1::text[])
     ), locked AS (
       INSERT INTO rate_buckets (bucket)
       SELECT k FROM (SELECT bucket AS k FROM lease UNION SELECT $2::text) keys ORDER BY k COLLATE "C"
       ON CONFLICT (bucket) DO UPDATE SET bucket = EXCLUDED.bucket
       RETURNING *
     )
     SELECT 'b' AS kind, locked.*, NULL AS lease_id, NULL AS lease_tokens, NULL AS lease_acquired_at,
            NULL AS lease_day_start, NULL AS lease_actual_tokens FROM locked
     UNION ALL
     SELECT 'l', locked.*, lease.lease_id, lease.tokens, lease.acquired_at, lease.day_start, lease.actual_tokens
       FROM lease JOIN locked ON locked.bucket = lease.bucket`,
    [leaseIds, modelKey],
  );
  const buckets = new Map<string, SqlRow>();
  for (const row of rows) if (row.kind === 'b') buckets.set(asString(row.bucket, 'bucket'), { ...row });
  const model_ = buckets.get(modelKey);
  if (!model_) throw new Error(`rate bucket ${modelKey} was not locked`);
  for (const item of items) {
    const changes = upstreamChanges(model_, observationOf(item.headers, now), now);
    for (const [column, value] of Object.entries(changes)) {
      model_[column] =
        column === 'upstream_blocked_until' || column === 'updated_at'
          ? Math.max(Number(model_[column] ?? 0), value ?? 0)
          : value;
    }
  }
  const actual = new Map(items.map((item) => [item.leaseId, item.actualTokens]));
  const fixes = { leases: [] as string[], buckets: [] as string[], actual: [] as number[] };
  for (const row of rows) {
    if (row.kind !== 'l' || (row.lease_actual_tokens !== null && row.lease_actual_tokens !== undefined))
      continue;
    const key = asString(row.bucket, 'bucket');
    const bucket = buckets.get(key)!;
    const leaseId = asString(row.lease_id, 'lease_id');
    const tokens = actual.get(leaseId)!;
    const lease = {
      tokens: row.lease_tokens,
      acquired_at: row.lease_acquired_at,
      day_start: row.lease_day_start,
    };
    const correction = correctionOf(bucket, lease, tokens);
    if (correction.sameDay) bucket.day_tokens = Math.max(0, Number(bucket.day_tokens) + correction.delta);
    if (correction.countedUpstream) {
      bucket.upstream_tokens_consumed = Math.max(
        0,
        Number(bucket.upstream_tokens_consumed) + correction.delta,
      );
    }
    fixes.leases.push(leaseId);
    fixes.buckets.push(key);
    fixes.actual.push(tokens);
  }
  const keys = [...buckets.keys()];
  const casts = COLUMNS.map((_column, index) => `$${index + 6}::bigint[]`).join(', ');
  const sets = COLUMNS.map((column) => `${column} = v.${column}`);
  await tx.query(
    `WITH buckets AS (
       UPDATE rate_buckets AS r SET ${sets.join(', ')}
         FROM unnest($1::text[], ${casts}) AS v(bucket, ${COLUMNS.join(', ')})
        WHERE r.bucket = v.bucket
     ), fixes AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::bigint[]) AS f(lease_id, bucket, actual)
     ), logged AS (
       UPDATE rate_admissions a SET tokens = f.actual FROM fixes f WHERE a.bucket = f.bucket AND a.lease_id = f.lease_id
     )
     UPDATE rate_leases l
        SET actual_tokens = COALESCE(f.actual, l.actual_tokens), released_at = COALESCE(l.released_at, $${COLUMNS.length + 6}::bigint)
       FROM (SELECT x.lease_id, x.bucket, fixes.actual FROM rate_leases x
               LEFT JOIN fixes ON fixes.lease_id = x.lease_id AND fixes.bucket = x.bucket
              WHERE x.lease_id = ANY($5::text[])) f
      WHERE l.lease_id = f.lease_id AND l.bucket = f.bucket`,
    [
      keys,
      fixes.leases,
      fixes.buckets,
      fixes.actual,
      leaseIds,
      ...COLUMNS.map((column) => keys.map((key) => asNullableNumber(buckets.get(key)![column], column))),
      now,
    ],
  );
}
