/**
 * The item rows of a chunk of a realtime batch, read and written a chunk at a time: `openItems` reads the
 * items (counting a pending item's first attempt, as `BatchStore.openItem`) with the state of each one's
 * current attempt's reservation, in one statement; `finishItemsIn` stores the results of several items
 * in one statement (each once: an item finished before keeps its result).
 */
import type { BatchItem, ItemOutcome } from './batches';
import { toItem } from './batches';
import { asNullableString, toJsonText, type SqlQueryable } from './sql';

export interface OpenedItem extends BatchItem {
  /** its first attempt was counted by this read */
  started: boolean;
  /** the current attempt's reservation (`batch:<batch>:<custom_id>#<attempts>`), when it exists */
  reservation: { state: string; period: string; claimed: boolean } | null;
}

export async function openItems(
  db: SqlQueryable,
  batchId: string,
  seqs: readonly number[],
): Promise<OpenedItem[]> {
  if (seqs.length === 0) return [];
  const { rows } = await db.query(
    `WITH started AS (
       UPDATE batch_items SET attempts = 1
        WHERE batch_id = $1 AND seq = ANY($2::int[]) AND state = 'pending' AND attempts = 0
       RETURNING seq, line, custom_id, body, state, attempts, cost_nanos, true AS started
     ), items AS (
       SELECT * FROM started
       UNION ALL
       SELECT seq, line, custom_id, body, state, attempts, cost_nanos, false FROM batch_items
        WHERE batch_id = $1 AND seq = ANY($2::int[]) AND seq NOT IN (SELECT seq FROM started)
     )
     SELECT items.*, r.state AS reservation_state, r.period AS reservation_period,
            r.call_claimed_at IS NOT NULL AS reservation_claimed
       FROM items LEFT JOIN budget_reservations r
         ON items.attempts > 0 AND r.id = $3 || items.custom_id || '#' || items.attempts`,
    [batchId, [...seqs], `batch:${batchId}:`],
  );
  return rows.map((row) => {
    const state = asNullableString(row.reservation_state, 'reservation_state');
    return {
      ...toItem(row),
      started: row.started === true,
      reservation:
        state === null
          ? null
          : {
              state,
              period: String(row.reservation_period),
              claimed: row.reservation_claimed === true,
            },
    };
  });
}

/**
 * Claim the calls of a batch's held attempts, in one statement, unless the batch is stopping (cancelled,
 * paused or past its completion window): then nothing is claimed and `stopping` is true.
 */
export async function claimItemCalls(
  db: SqlQueryable,
  batchId: string,
  reservationIds: readonly string[],
  claimer: string,
): Promise<{ claimed: Set<string>; stopping: boolean }> {
  const { rows } = await db.query(
    `WITH stop AS (
       SELECT status IN ('cancelling', 'cancelled', 'expired', 'failed') OR paused OR expires_at <= now() AS stopping
         FROM batches WHERE id = $3
     ), claimed AS (
       UPDATE budget_reservations SET call_claimed_at = now(), call_claimed_by = $2, updated_at = now()
        WHERE id = ANY($1::text[]) AND state = 'held' AND call_claimed_at IS NULL
          AND NOT COALESCE((SELECT stopping FROM stop), true)
       RETURNING id
     )
     SELECT COALESCE((SELECT stopping FROM stop), true) AS stopping, id FROM (SELECT NULL::text AS id UNION ALL SELECT id FROM claimed) c`,
    [[...reservationIds], claimer, batchId],
  );
  return {
    stopping: rows[0]?.stopping === true,
    claimed: new Set(
      rows.flatMap((row) => (row.id === null || row.id === undefined ? [] : [String(row.id)])),
    ),
  };
}

/**
 * What sizing a run needs from the ledger, in one statement: the body of the first item from `cursor`
 * (its model and tokens) and the mean upstream latency of the batch's last (up to 200) items before
 * `cursor` that succeeded (null when none did yet).
 */
export async function runSizingFacts(
  db: SqlQueryable,
  batchId: string,
  cursor: number,
): Promise<{ body: Record<string, unknown> | null; latencyMs: number | null }> {
  const { rows } = await db.query(
    `SELECT (SELECT body FROM batch_items WHERE batch_id = $1 AND seq >= $2 ORDER BY seq LIMIT 1) AS body,
            (SELECT avg(extract(epoch FROM u.finished_at - u.started_at) * 1000)
               FROM batch_items i JOIN usage_records u ON u.request_id = $3 || i.custom_id AND u.attempt = i.attempts
              WHERE i.batch_id = $1 AND i.seq < $2 AND i.seq >= $2 - 200 AND i.state = 'succeeded'
                AND u.outcome = 'success' AND u.finished_at IS NOT NULL) AS latency_ms`,
    [batchId, cursor, `batch:${batchId}:`],
  );
  const row = rows[0];
  const body = row?.body ?? null;
  const latency = row?.latency_ms;
  return {
    body: (typeof body === 'string' ? JSON.parse(body) : body) as Record<string, unknown> | null,
    latencyMs: latency === null || latency === undefined ? null : Number(latency),
  };
}

/** Stores the results of items still pending; gives the seqs it finished. */
export async function finishItemsIn(
  db: SqlQueryable,
  batchId: string,
  results: readonly { seq: number; outcome: ItemOutcome }[],
  now: Date,
): Promise<Set<number>> {
  if (results.length === 0) return new Set();
  const { rows } = await db.query(
    `UPDATE batch_items b
        SET state = v.state, status_code = v.status_code, upstream_request_id = v.upstream_request_id,
            response = v.response::jsonb, error = v.error::jsonb, cost_nanos = v.cost, finished_at = $9
       FROM unnest($2::int[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::bigint[])
            AS v(seq, state, status_code, upstream_request_id, response, error, cost)
      WHERE b.batch_id = $1 AND b.seq = v.seq AND b.state = 'pending'
      RETURNING b.seq`,
    [
      batchId,
      results.map(({ seq }) => seq),
      results.map(({ outcome }) => outcome.state),
      results.map(({ outcome }) => outcome.statusCode),
      results.map(({ outcome }) => outcome.upstreamRequestId),
      results.map(({ outcome }) => toJsonText(outcome.response)),
      results.map(({ outcome }) => toJsonText(outcome.error)),
      results.map(({ outcome }) => outcome.costNanos.toString()),
      now,
    ],
  );
  return new Set(rows.map((row) => Number(row.seq)));
}
