/**
 * Shared rate limits across every worker process. Admission is one transaction that creates (if new) and
 * then locks the rows of all listed buckets in one fixed order (SELECT ... ORDER BY bucket COLLATE "C"
 * FOR UPDATE), reads their sliding-minute logs (rate_admissions), day counters, open leases and upstream
 * feedback, decides with the pure rules of rate-math.ts and, only if every bucket has room, counts the
 * request in all of them (a log row per bucket, the day counters) and writes its lease. RPM/TPM count an
 * admission for 61 s, 60 s plus a 1 s guard band (rate-math.ts, MINUTE_WINDOW_MS), so Groq's own minute
 * never sees more than the limit although each call reaches it a little after its admission. Two acquirers of a common bucket therefore run one after the other, whichever process they
 * are in, and a limit can never be exceeded by a race. Times are the caller's `now` (epoch ms).
 */
import {
  admitIntoDay,
  DAY_MS,
  decideAdmission,
  MINUTE_MS,
  MINUTE_WINDOW_MS,
  upstreamLive,
  windowsAt,
  type Admission,
  type BucketSnapshot,
  type DayCounters,
  type RateBlock,
  type RateLimits,
  type UpstreamDimension,
  type UpstreamState,
  type WindowCounters,
} from './rate-math';
import { asNullableNumber, asNumber, asString, type SqlQueryable, type SqlRow, type SqlSession } from './sql';
import { parseRateLimitHeaders, type HeaderSource, type UpstreamObservation } from './upstream-headers';

export interface BucketRequest {
  /** e.g. 'team:chatbot', 'model:llama-3.1-8b-instant', 'org' */
  key: string;
  limits: RateLimits;
}

export interface AcquireInput {
  buckets: BucketRequest[];
  /** estimated tokens of the request (prompt + max completion); corrected later with correctTokens */
  tokens: number;
  /** epoch milliseconds */
  now: number;
  /** caller-chosen id; acquiring again with the same id is a no-op that reports the first admission */
  leaseId: string;
  /** the concurrency slot frees itself after this long even if never released (worker died) */
  leaseTtlMs: number;
}

export type AcquireResult =
  | { admitted: true; leaseId: string; expiresAt: number; replayed: boolean }
  | {
      admitted: false;
      /** wait this long before the request can fit all limits; null: it never fits (larger than a limit) */
      retryAfterMs: number | null;
      blockedBy: RateBlock[];
    };

export function modelBucket(model: string): string {
  return `model:${model}`;
}

export function teamBucket(team: string): string {
  return `team:${team}`;
}

function assertTime(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be whole milliseconds >= 0`);
}

export function assertLimits(key: string, limits: RateLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new RangeError(`bucket ${key}: ${name} must be a whole number >= 0`);
    }
  }
}

function upstreamDimension(row: SqlRow, dimension: 'tokens' | 'requests'): UpstreamDimension | null {
  const observedAt = asNullableNumber(row[`upstream_${dimension}_observed_at`], 'observed_at');
  const remaining = asNullableNumber(row[`upstream_remaining_${dimension}`], 'remaining');
  const resetAt = asNullableNumber(row[`upstream_${dimension}_reset_at`], 'reset_at');
  if (observedAt === null || remaining === null || resetAt === null) return null;
  return {
    observedAt,
    remaining,
    resetAt,
    limit: asNullableNumber(row[`upstream_limit_${dimension}`], 'limit'),
    consumed: asNumber(row[`upstream_${dimension}_consumed`], 'consumed'),
  };
}

export function upstreamOf(row: SqlRow): UpstreamState {
  return {
    tokens: upstreamDimension(row, 'tokens'),
    requests: upstreamDimension(row, 'requests'),
    blockedUntil: asNullableNumber(row.upstream_blocked_until, 'upstream_blocked_until'),
  };
}

/**
 * Log rows older than this before `now` are deleted. The window itself is 61 s; the extra time keeps
 * rows that a caller whose clock runs behind would still count.
 */
export const LOG_KEEP_MS = 2 * MINUTE_MS;

/**
 * The CTE that prunes the buckets' log rows older than LOG_KEEP_MS, in batches: once a bucket's oldest
 * row is a twelfth of that past it (`governor_log_prune_due`, migrations/0015_authorize_locks_late.sql).
 * Its statement's parameters: $1 the bucket keys, $2 `now - LOG_KEEP_MS`, $6 `now`, $8 LOG_KEEP_MS.
 */
export const PRUNE_LOG_CTE = `pruned AS (DELETE FROM rate_admissions WHERE bucket = ANY($1::text[]) AND at <= $2::bigint
                      AND governor_log_prune_due($1::text[], $6::bigint, $8::bigint))`;

export function dayOf(row: SqlRow): DayCounters {
  return {
    dayStart: asNumber(row.day_start, 'day_start'),
    dayRequests: asNumber(row.day_requests, 'day_requests'),
    dayTokens: asNumber(row.day_tokens, 'day_tokens'),
  };
}

/** Byte order of the keys, the order of `COLLATE "C"`: the one global order bucket rows are locked in. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Create missing bucket rows and lock all of them, in one statement and one global order (the keys'
 * byte order, as `ORDER BY bucket COLLATE "C"`): the upsert takes each row's lock as it meets it, in
 * the order of the input array, whether it inserts the row or finds it. Returns the rows by key.
 */
export async function lockBuckets(tx: SqlQueryable, keys: readonly string[]): Promise<Map<string, SqlRow>> {
  const ordered = [...keys].sort(byteOrder);
  const { rows } = await tx.query(
    `INSERT INTO rate_buckets (bucket) SELECT unnest($1::text[])
     ON CONFLICT (bucket) DO UPDATE SET bucket = EXCLUDED.bucket
     RETURNING *`,
    [ordered],
  );
  return new Map(rows.map((row) => [asString(row.bucket, 'bucket'), row]));
}

/** The bucket's admissions that count in the sliding minute at `now` (clock-ahead rows included). */
export async function recentAdmissions(db: SqlQueryable, bucket: string, now: number): Promise<Admission[]> {
  const { rows } = await db.query(
    'SELECT at, tokens FROM rate_admissions WHERE bucket = $1 AND at > $2 ORDER BY at',
    [bucket, now - MINUTE_WINDOW_MS],
  );
  return rows.map((row) => ({ at: asNumber(row.at, 'at'), tokens: asNumber(row.tokens, 'tokens') }));
}

interface AdmissionReads {
  /** the lease's expiry when `leaseId` was admitted before */
  earlier: number | null;
  /** requests and tokens in the sliding minute, per bucket with an RPM/TPM limit */
  minute: Map<string, { requests: number; tokens: number }>;
  /** open lease expiries per bucket, ascending */
  open: Map<string, number[]>;
}

/**
 * What admission reads under the bucket locks, in one statement: whether the lease was admitted before,
 * the sliding-minute totals (requests, tokens) of the buckets with an RPM/TPM limit (`governor_minute_totals`,
 * migrations/0014_rate_seconds.sql: per-second totals, at a cost that does not grow with the rate), the open leases of the buckets
 * with a concurrency limit; it prunes the buckets' log rows on the way (PRUNE_LOG_CTE; the pruned rows
 * are far outside the window, so the read is the same with or without them).
 */
async function admissionReads(
  tx: SqlQueryable,
  input: { keys: string[]; minuteKeys: string[]; concurrencyKeys: string[]; leaseId: string; now: number },
): Promise<AdmissionReads> {
  const { keys, minuteKeys, concurrencyKeys, leaseId, now } = input;
  const { rows } = await tx.query(
    `WITH ${PRUNE_LOG_CTE}
     SELECT 'a' AS kind, bucket, requests AS t, tokens FROM governor_minute_totals($3::text[], $4::bigint)
     UNION ALL
     SELECT 'l', bucket, expires_at, 0 FROM rate_leases
      WHERE bucket = ANY($5::text[]) AND released_at IS NULL AND expires_at > $6::bigint
     UNION ALL
     (SELECT 'e', bucket, expires_at, 0 FROM rate_leases WHERE lease_id = $7::text LIMIT 1)`,
    [keys, now - LOG_KEEP_MS, minuteKeys, now - MINUTE_WINDOW_MS, concurrencyKeys, now, leaseId, LOG_KEEP_MS],
  );
  const reads: AdmissionReads = { earlier: null, minute: new Map(), open: new Map() };
  for (const key of minuteKeys) reads.minute.set(key, { requests: 0, tokens: 0 });
  for (const key of concurrencyKeys) reads.open.set(key, []);
  for (const row of rows) {
    const bucket = asString(row.bucket, 'bucket');
    const time = asNumber(row.t, 't');
    if (row.kind === 'e') reads.earlier = time;
    else if (row.kind === 'a')
      reads.minute.set(bucket, { requests: time, tokens: asNumber(row.tokens, 'tokens') });
    else reads.open.get(bucket)?.push(time);
  }
  for (const expiries of reads.open.values()) expiries.sort((a, b) => a - b);
  return reads;
}

/** Whether one more request of `tokens` tokens fits the bucket's RPM and TPM, given the minute's totals. */
export function minuteFits(
  limits: RateLimits,
  used: { requests: number; tokens: number },
  tokens: number,
): boolean {
  if (limits.rpm !== undefined && used.requests + 1 > limits.rpm) return false;
  return limits.tpm === undefined || used.tokens + tokens <= limits.tpm;
}

/** Admit one request against every bucket, or against none. */
export async function tryAcquire(db: SqlSession, input: AcquireInput): Promise<AcquireResult> {
  const { tokens, now, leaseId, leaseTtlMs } = input;
  if (input.buckets.length === 0) throw new RangeError('tryAcquire needs at least one bucket');
  if (!leaseId) throw new RangeError('leaseId is required');
  assertTime('now', now);
  if (!Number.isSafeInteger(tokens) || tokens < 0) throw new RangeError('tokens must be a whole number >= 0');
  if (!Number.isSafeInteger(leaseTtlMs) || leaseTtlMs <= 0) throw new RangeError('leaseTtlMs must be > 0');
  const byKey = new Map<string, RateLimits>();
  for (const bucket of input.buckets) {
    if (!bucket.key) throw new RangeError('bucket key is required');
    if (byKey.has(bucket.key)) throw new RangeError(`bucket ${bucket.key} is listed twice`);
    assertLimits(bucket.key, bucket.limits);
    byKey.set(bucket.key, bucket.limits);
  }
  const keys = [...byKey.keys()].sort();

  // three statements (four when a minute limit is full): lock (creating missing rows), read everything
  // admission needs, write the admission
  return db.transaction(async (tx): Promise<AcquireResult> => {
    const rows = await lockBuckets(tx, keys);
    const reads = await admissionReads(tx, {
      keys,
      minuteKeys: keys.filter((key) => {
        const limits = byKey.get(key)!;
        return limits.rpm !== undefined || limits.tpm !== undefined;
      }),
      concurrencyKeys: keys.filter((key) => byKey.get(key)!.concurrency !== undefined),
      leaseId,
      now,
    });
    if (reads.earlier !== null) return { admitted: true, leaseId, expiresAt: reads.earlier, replayed: true };

    // A bucket whose minute totals leave room decides the same with or without its log rows (they only
    // tell when room comes back), so only a full bucket's log is read, to know its retry time.
    const full = [...reads.minute].filter(([key, used]) => !minuteFits(byKey.get(key)!, used, tokens));
    const recent = new Map<string, Admission[]>();
    for (const [key] of full) recent.set(key, await recentAdmissions(tx, key, now));

    const snapshots: BucketSnapshot[] = keys.map((key) => {
      const row = rows.get(key);
      if (!row) throw new Error(`rate bucket ${key} was not locked`);
      return {
        key,
        limits: byKey.get(key) ?? {},
        day: dayOf(row),
        recent: recent.get(key) ?? [],
        upstream: upstreamOf(row),
        openLeaseExpiries: reads.open.get(key) ?? [],
      };
    });

    const decision = decideAdmission(snapshots, tokens, now);
    if (!decision.admitted) return decision;

    const expiresAt = now + leaseTtlMs;
    const next = snapshots.map((snapshot) => admitIntoDay(snapshot.day, tokens, now));
    // every bucket's counters, lease row and log row (also a bucket without minute limits now: its
    // limits may change), in one statement
    await writeAdmissions(tx, {
      buckets: keys.map((key, n) => ({
        key,
        day: next[n]!,
        tokensConsumed: upstreamLive(snapshots[n]!.upstream.tokens, now) ? tokens : 0,
        requestsConsumed: upstreamLive(snapshots[n]!.upstream.requests, now) ? 1 : 0,
      })),
      leases: [{ leaseId, tokens }],
      now,
      expiresAt,
    });
    return { admitted: true, leaseId, expiresAt, replayed: false };
  });
}

/** What admissions write: each bucket's new counters, and the leases admitted into all of them at `now`. */
export interface AdmissionWrite {
  buckets: ReadonlyArray<{ key: string; day: DayCounters; tokensConsumed: number; requestsConsumed: number }>;
  leases: ReadonlyArray<{ leaseId: string; tokens: number }>;
  now: number;
  expiresAt: number;
}

/**
 * Write admissions under the bucket locks, in one statement: every bucket's day counters and Groq's
 * consumed counts, a lease row and a sliding-log row per lease and bucket.
 */
export async function writeAdmissions(tx: SqlQueryable, write: AdmissionWrite): Promise<void> {
  const pairs = write.buckets.flatMap((bucket) => write.leases.map((lease) => ({ bucket, lease })));
  await tx.query(
    `WITH counted AS (
       UPDATE rate_buckets AS r
          SET day_start = v.day_start, day_requests = v.day_requests, day_tokens = v.day_tokens,
              upstream_tokens_consumed = r.upstream_tokens_consumed + v.tokens_consumed,
              upstream_requests_consumed = r.upstream_requests_consumed + v.requests_consumed,
              updated_at = GREATEST(r.updated_at, $7::bigint)
         FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
              AS v(bucket, day_start, day_requests, day_tokens, tokens_consumed, requests_consumed)
        WHERE r.bucket = v.bucket
     ), leased AS (
       INSERT INTO rate_leases (lease_id, bucket, tokens, acquired_at, expires_at, minute_start, day_start)
       SELECT v.lease_id, v.bucket, v.tokens, $7::bigint, $11::bigint, $7::bigint, v.day_start
         FROM unnest($8::text[], $9::text[], $10::bigint[], $12::bigint[]) AS v(lease_id, bucket, tokens, day_start)
     )
     INSERT INTO rate_admissions (bucket, lease_id, at, tokens)
     SELECT v.bucket, v.lease_id, $7::bigint, v.tokens
       FROM unnest($8::text[], $9::text[], $10::bigint[]) AS v(lease_id, bucket, tokens)`,
    [
      write.buckets.map(({ key }) => key),
      write.buckets.map(({ day }) => day.dayStart),
      write.buckets.map(({ day }) => day.dayRequests),
      write.buckets.map(({ day }) => day.dayTokens),
      write.buckets.map(({ tokensConsumed }) => tokensConsumed),
      write.buckets.map(({ requestsConsumed }) => requestsConsumed),
      write.now,
      pairs.map(({ lease }) => lease.leaseId),
      pairs.map(({ bucket }) => bucket.key),
      pairs.map(({ lease }) => lease.tokens),
      write.expiresAt,
      pairs.map(({ bucket }) => bucket.day.dayStart),
    ],
  );
}

/** End a lease's concurrency slot; idempotent (false when it was already released or never existed). */
export async function releaseLease(db: SqlQueryable, leaseId: string, now: number): Promise<boolean> {
  assertTime('now', now);
  const result = await db.query(
    'UPDATE rate_leases SET released_at = $2 WHERE lease_id = $1 AND released_at IS NULL',
    [leaseId, now],
  );
  return result.rowCount > 0;
}

export interface TokenCorrection {
  /** actual minus estimated tokens (0 when nothing was applied) */
  delta: number;
  /** false when the lease is unknown or was already corrected */
  applied: boolean;
}

/**
 * Replace a lease's estimated tokens with the actual count: in every bucket's sliding-minute log (the
 * admission row keeps its time, so the corrected tokens leave the window when the estimate would have;
 * a row already pruned is history) and in the day counters while the day is still the current one.
 * Once per lease.
 */
export async function correctTokens(
  db: SqlSession,
  input: { leaseId: string; actualTokens: number },
): Promise<TokenCorrection> {
  const { leaseId, actualTokens } = input;
  if (!Number.isSafeInteger(actualTokens) || actualTokens < 0) {
    throw new RangeError('actualTokens must be a whole number >= 0');
  }
  return db.transaction(async (tx) => {
    const found = await tx.query('SELECT bucket FROM rate_leases WHERE lease_id = $1', [leaseId]);
    const keys = found.rows.map((row) => asString(row.bucket, 'bucket')).sort();
    if (keys.length === 0) return { delta: 0, applied: false };
    const buckets = await lockBuckets(tx, keys);
    const leases = await tx.query(
      `SELECT bucket, tokens, acquired_at, minute_start, day_start FROM rate_leases
        WHERE lease_id = $1 AND actual_tokens IS NULL ORDER BY bucket COLLATE "C" FOR UPDATE`,
      [leaseId],
    );
    if (leases.rows.length === 0) return { delta: 0, applied: false };
    let delta = 0;
    const fix = {
      keys: [] as string[],
      sameDay: [] as number[],
      counted: [] as number[],
      delta: [] as number[],
    };
    for (const lease of leases.rows) {
      const key = asString(lease.bucket, 'bucket');
      const bucket = buckets.get(key);
      if (!bucket) continue;
      const correction = correctionOf(bucket, lease, actualTokens);
      delta = correction.delta;
      fix.keys.push(key);
      fix.sameDay.push(correction.sameDay ? 1 : 0);
      fix.counted.push(correction.countedUpstream ? 1 : 0);
      fix.delta.push(delta);
    }
    if (fix.keys.length === 0) return { delta, applied: true };
    // the day and upstream counters, the log rows and the lease rows of every bucket, in one statement
    await tx.query(
      `WITH counters AS (
         UPDATE rate_buckets AS r
            SET day_tokens = CASE WHEN v.same_day = 1 THEN GREATEST(0, r.day_tokens + v.delta)
                                  ELSE r.day_tokens END,
                upstream_tokens_consumed = CASE WHEN v.counted = 1
                                                THEN GREATEST(0, r.upstream_tokens_consumed + v.delta)
                                                ELSE r.upstream_tokens_consumed END
           FROM unnest($1::text[], $2::int[], $3::int[], $4::bigint[]) AS v(bucket, same_day, counted, delta)
          WHERE r.bucket = v.bucket
       ), logged AS (
         UPDATE rate_admissions SET tokens = $6::bigint WHERE bucket = ANY($1::text[]) AND lease_id = $5::text
       )
       UPDATE rate_leases SET actual_tokens = $6::bigint WHERE lease_id = $5::text AND bucket = ANY($1::text[])`,
      [fix.keys, fix.sameDay, fix.counted, fix.delta, leaseId, actualTokens],
    );
    return { delta, applied: true };
  });
}

/**
 * What correcting one lease row to `actualTokens` changes in its locked bucket row: the day counter
 * while the lease's day is the bucket's current one, and the upstream consumption when the estimate
 * was counted against the upstream observation (it was admitted after that observation).
 */
export function correctionOf(
  bucket: SqlRow,
  lease: SqlRow,
  actualTokens: number,
): { delta: number; sameDay: boolean; countedUpstream: boolean } {
  const acquiredAt = asNumber(lease.acquired_at, 'acquired_at');
  const tokensObservedAt = asNullableNumber(
    bucket.upstream_tokens_observed_at,
    'upstream_tokens_observed_at',
  );
  return {
    delta: actualTokens - asNumber(lease.tokens, 'tokens'),
    sameDay: asNumber(bucket.day_start, 'day_start') === asNumber(lease.day_start, 'day_start'),
    countedUpstream: tokensObservedAt !== null && tokensObservedAt <= acquiredAt,
  };
}

/**
 * Feed one upstream response's rate-limit headers into the shared state of bucket `model:<model>`. A
 * newer observation replaces an older one per dimension (an observation older than the stored one is
 * ignored, responses can arrive out of order); retry-after only ever extends the block.
 */
export async function recordUpstreamHeaders(
  db: SqlSession,
  model: string,
  headers: HeaderSource | UpstreamObservation,
  now: number,
): Promise<UpstreamState> {
  assertTime('now', now);
  const observation = observationOf(headers, now);
  const key = modelBucket(model);
  return db.transaction(async (tx) => {
    const row = (await lockBuckets(tx, [key])).get(key);
    if (!row) throw new Error(`rate bucket ${key} was not locked`);
    const changes = upstreamChanges(row, observation, now);
    const columns = Object.keys(changes);
    if (columns.length === 0) return upstreamOf(row);
    const params: unknown[] = [key];
    const sets = columns.map((column) => {
      params.push(changes[column]);
      return column === 'upstream_blocked_until' || column === 'updated_at'
        ? `${column} = GREATEST(COALESCE(${column}, 0), $${params.length})`
        : `${column} = $${params.length}`;
    });
    const { rows } = await tx.query(
      `UPDATE rate_buckets SET ${sets.join(', ')} WHERE bucket = $1 RETURNING *`,
      params,
    );
    if (!rows[0]) throw new Error(`rate bucket ${key} vanished`);
    return upstreamOf(rows[0]);
  });
}

/**
 * The columns of a locked bucket row that one upstream observation changes, with their new values: a
 * newer observation replaces an older one per dimension (one older than the stored one is ignored);
 * `upstream_blocked_until` and `updated_at` only ever grow (the caller takes the greater value).
 */
/** One dimension of an upstream observation, as the bucket's columns store it. */
export interface ObservedDimension {
  remaining: number;
  /** epoch ms after which the observation says nothing any more */
  resetAt: number;
  limit: number | null;
}

/**
 * What an upstream observation at `now` says, as column values: each dimension Groq reported a remaining
 * count for, and the end of a retry-after block.
 */
export function observedColumns(
  observation: UpstreamObservation,
  now: number,
): { tokens: ObservedDimension | null; requests: ObservedDimension | null; blockedUntil: number | null } {
  const dimension = (
    remaining: number | undefined,
    resetMs: number | undefined,
    limit: number | undefined,
    fallbackMs: number,
  ): ObservedDimension | null =>
    remaining === undefined
      ? null
      : // without a reset time, trust the observation for one minute (tokens) or one day (requests)
        { remaining, resetAt: now + (resetMs ?? fallbackMs), limit: limit ?? null };
  return {
    tokens: dimension(
      observation.remainingTokens,
      observation.tokensResetMs,
      observation.limitTokens,
      60_000,
    ),
    requests: dimension(
      observation.remainingRequests,
      observation.requestsResetMs,
      observation.limitRequests,
      DAY_MS,
    ),
    blockedUntil: observation.retryAfterMs === undefined ? null : now + observation.retryAfterMs,
  };
}

export function upstreamChanges(
  row: SqlRow,
  observation: UpstreamObservation,
  now: number,
): Record<string, number | null> {
  const changes: Record<string, number | null> = {};
  const observed = observedColumns(observation, now);
  for (const dimension of ['tokens', 'requests'] as const) {
    const seen = observed[dimension];
    if (seen === null) continue;
    const storedAt = asNullableNumber(row[`upstream_${dimension}_observed_at`], 'observed_at');
    if (storedAt !== null && storedAt > now) continue;
    changes[`upstream_${dimension}_observed_at`] = now;
    changes[`upstream_remaining_${dimension}`] = seen.remaining;
    changes[`upstream_${dimension}_reset_at`] = seen.resetAt;
    changes[`upstream_limit_${dimension}`] = seen.limit;
    changes[`upstream_${dimension}_consumed`] = 0;
  }
  if (observed.blockedUntil !== null) changes.upstream_blocked_until = observed.blockedUntil;
  if (Object.keys(changes).length > 0) changes.updated_at = now;
  return changes;
}

export function observationOf(headers: HeaderSource | UpstreamObservation, now: number): UpstreamObservation {
  return isObservation(headers) ? headers : parseRateLimitHeaders(headers, now);
}

function isObservation(value: HeaderSource | UpstreamObservation): value is UpstreamObservation {
  if (typeof (value as { get?: unknown }).get === 'function') return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => OBSERVATION_KEYS.has(key));
}

const OBSERVATION_KEYS = new Set([
  'limitRequests',
  'remainingRequests',
  'requestsResetMs',
  'limitTokens',
  'remainingTokens',
  'tokensResetMs',
  'retryAfterMs',
]);

export interface BucketState {
  key: string;
  windows: WindowCounters;
  openLeases: number;
  upstream: UpstreamState;
}

/** The bucket as admission would see it at `now` (sliding minute, current day, open leases counted). */
export async function getRateBucket(db: SqlQueryable, key: string, now: number): Promise<BucketState | null> {
  const { rows } = await db.query('SELECT * FROM rate_buckets WHERE bucket = $1', [key]);
  const row = rows[0];
  if (!row) return null;
  const open = await db.query(
    'SELECT COUNT(*) AS n FROM rate_leases WHERE bucket = $1 AND released_at IS NULL AND expires_at > $2',
    [key, now],
  );
  return {
    key,
    windows: windowsAt(dayOf(row), await recentAdmissions(db, key, now), now),
    openLeases: asNumber(open.rows[0]?.n ?? 0n, 'n'),
    upstream: upstreamOf(row),
  };
}

/**
 * Delete leases that ended before `before` (corrections need them only within their day window), and
 * sliding-log rows admitted before it (admission prunes its own buckets; this catches idle ones).
 * Returns the number of leases deleted.
 */
export async function purgeRateLeases(db: SqlQueryable, before: number): Promise<number> {
  assertTime('before', before);
  const result = await db.query('DELETE FROM rate_leases WHERE expires_at < $1', [before]);
  await db.query('DELETE FROM rate_admissions WHERE at < $1', [before]);
  return result.rowCount;
}
