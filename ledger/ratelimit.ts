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

function assertLimits(key: string, limits: RateLimits): void {
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

function upstreamOf(row: SqlRow): UpstreamState {
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
const LOG_KEEP_MS = 2 * MINUTE_MS;

function dayOf(row: SqlRow): DayCounters {
  return {
    dayStart: asNumber(row.day_start, 'day_start'),
    dayRequests: asNumber(row.day_requests, 'day_requests'),
    dayTokens: asNumber(row.day_tokens, 'day_tokens'),
  };
}

/** Create missing bucket rows, then lock all of them in one global order; returns rows by key. */
async function lockBuckets(tx: SqlQueryable, keys: string[]): Promise<Map<string, SqlRow>> {
  await tx.query(
    `INSERT INTO rate_buckets (bucket) SELECT unnest($1::text[]) ON CONFLICT (bucket) DO NOTHING`,
    [keys],
  );
  const { rows } = await tx.query(
    `SELECT * FROM rate_buckets WHERE bucket = ANY($1::text[]) ORDER BY bucket COLLATE "C" FOR UPDATE`,
    [keys],
  );
  return new Map(rows.map((row) => [asString(row.bucket, 'bucket'), row]));
}

/** The bucket's admissions that count in the sliding minute at `now` (clock-ahead rows included). */
async function recentAdmissions(db: SqlQueryable, bucket: string, now: number): Promise<Admission[]> {
  const { rows } = await db.query(
    'SELECT at, tokens FROM rate_admissions WHERE bucket = $1 AND at > $2 ORDER BY at',
    [bucket, now - MINUTE_WINDOW_MS],
  );
  return rows.map((row) => ({ at: asNumber(row.at, 'at'), tokens: asNumber(row.tokens, 'tokens') }));
}

async function openLeaseExpiries(tx: SqlQueryable, bucket: string, now: number): Promise<number[]> {
  const { rows } = await tx.query(
    `SELECT expires_at FROM rate_leases WHERE bucket = $1 AND released_at IS NULL AND expires_at > $2
      ORDER BY expires_at`,
    [bucket, now],
  );
  return rows.map((row) => asNumber(row.expires_at, 'expires_at'));
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

  return db.transaction(async (tx): Promise<AcquireResult> => {
    const rows = await lockBuckets(tx, keys);

    const earlier = await tx.query('SELECT expires_at FROM rate_leases WHERE lease_id = $1 LIMIT 1', [
      leaseId,
    ]);
    if (earlier.rows[0]) {
      return {
        admitted: true,
        leaseId,
        expiresAt: asNumber(earlier.rows[0].expires_at, 'expires_at'),
        replayed: true,
      };
    }

    await tx.query('DELETE FROM rate_admissions WHERE bucket = ANY($1::text[]) AND at <= $2', [
      keys,
      now - LOG_KEEP_MS,
    ]);
    const snapshots: BucketSnapshot[] = [];
    for (const key of keys) {
      const row = rows.get(key);
      if (!row) throw new Error(`rate bucket ${key} was not locked`);
      const limits = byKey.get(key) ?? {};
      const minuteLimited = limits.rpm !== undefined || limits.tpm !== undefined;
      snapshots.push({
        key,
        limits,
        day: dayOf(row),
        recent: minuteLimited ? await recentAdmissions(tx, key, now) : [],
        upstream: upstreamOf(row),
        openLeaseExpiries: limits.concurrency !== undefined ? await openLeaseExpiries(tx, key, now) : [],
      });
    }

    const decision = decideAdmission(snapshots, tokens, now);
    if (!decision.admitted) return decision;

    const expiresAt = now + leaseTtlMs;
    for (const snapshot of snapshots) {
      const next = admitIntoDay(snapshot.day, tokens, now);
      await tx.query(
        `UPDATE rate_buckets
            SET day_start = $2, day_requests = $3, day_tokens = $4,
                upstream_tokens_consumed = upstream_tokens_consumed + $5,
                upstream_requests_consumed = upstream_requests_consumed + $6,
                updated_at = GREATEST(updated_at, $7)
          WHERE bucket = $1`,
        [
          snapshot.key,
          next.dayStart,
          next.dayRequests,
          next.dayTokens,
          upstreamLive(snapshot.upstream.tokens, now) ? tokens : 0,
          upstreamLive(snapshot.upstream.requests, now) ? 1 : 0,
          now,
        ],
      );
      await tx.query(
        `INSERT INTO rate_leases (lease_id, bucket, tokens, acquired_at, expires_at, minute_start, day_start)
         VALUES ($1, $2, $3, $4, $5, $4, $6)`,
        [leaseId, snapshot.key, tokens, now, expiresAt, next.dayStart],
      );
      // every bucket logs the admission, also one without minute limits now (its limits may change)
      await tx.query('INSERT INTO rate_admissions (bucket, lease_id, at, tokens) VALUES ($1, $2, $3, $4)', [
        snapshot.key,
        leaseId,
        now,
        tokens,
      ]);
    }
    return { admitted: true, leaseId, expiresAt, replayed: false };
  });
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
    for (const lease of leases.rows) {
      const key = asString(lease.bucket, 'bucket');
      const bucket = buckets.get(key);
      if (!bucket) continue;
      delta = actualTokens - asNumber(lease.tokens, 'tokens');
      const acquiredAt = asNumber(lease.acquired_at, 'acquired_at');
      const sameDay = asNumber(bucket.day_start, 'day_start') === asNumber(lease.day_start, 'day_start');
      const tokensObservedAt = asNullableNumber(
        bucket.upstream_tokens_observed_at,
        'upstream_tokens_observed_at',
      );
      // the estimate was counted against the upstream observation only if it came after it
      const countedUpstream = tokensObservedAt !== null && tokensObservedAt <= acquiredAt;
      await tx.query(
        `UPDATE rate_buckets
            SET day_tokens = CASE WHEN $2 THEN GREATEST(0, day_tokens + $4) ELSE day_tokens END,
                upstream_tokens_consumed = CASE WHEN $3 THEN GREATEST(0, upstream_tokens_consumed + $4)
                                                ELSE upstream_tokens_consumed END
          WHERE bucket = $1`,
        [key, sameDay, countedUpstream, delta],
      );
      await tx.query('UPDATE rate_admissions SET tokens = $3 WHERE bucket = $1 AND lease_id = $2', [
        key,
        leaseId,
        actualTokens,
      ]);
      await tx.query('UPDATE rate_leases SET actual_tokens = $3 WHERE lease_id = $1 AND bucket = $2', [
        leaseId,
        key,
        actualTokens,
      ]);
    }
    return { delta, applied: true };
  });
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
  const observation = isObservation(headers) ? headers : parseRateLimitHeaders(headers, now);
  const key = modelBucket(model);
  return db.transaction(async (tx) => {
    const row = (await lockBuckets(tx, [key])).get(key);
    if (!row) throw new Error(`rate bucket ${key} was not locked`);
    const sets: string[] = [];
    const params: unknown[] = [key];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    for (const dimension of ['tokens', 'requests'] as const) {
      const remaining = dimension === 'tokens' ? observation.remainingTokens : observation.remainingRequests;
      const resetMs = dimension === 'tokens' ? observation.tokensResetMs : observation.requestsResetMs;
      const limit = dimension === 'tokens' ? observation.limitTokens : observation.limitRequests;
      if (remaining === undefined) continue;
      const storedAt = asNullableNumber(row[`upstream_${dimension}_observed_at`], 'observed_at');
      if (storedAt !== null && storedAt > now) continue;
      set(`upstream_${dimension}_observed_at`, now);
      set(`upstream_remaining_${dimension}`, remaining);
      // without a reset time, trust the observation for one minute (tokens) or one day (requests)
      set(`upstream_${dimension}_reset_at`, now + (resetMs ?? (dimension === 'tokens' ? 60_000 : DAY_MS)));
      set(`upstream_limit_${dimension}`, limit ?? null);
      set(`upstream_${dimension}_consumed`, 0);
    }
    if (observation.retryAfterMs !== undefined) {
      params.push(now + observation.retryAfterMs);
      sets.push(`upstream_blocked_until = GREATEST(COALESCE(upstream_blocked_until, 0), $${params.length})`);
    }
    if (sets.length === 0) return upstreamOf(row);
    params.push(now);
    sets.push(`updated_at = GREATEST(updated_at, $${params.length})`);
    const { rows } = await tx.query(
      `UPDATE rate_buckets SET ${sets.join(', ')} WHERE bucket = $1 RETURNING *`,
      params,
    );
    if (!rows[0]) throw new Error(`rate bucket ${key} vanished`);
    return upstreamOf(rows[0]);
  });
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
