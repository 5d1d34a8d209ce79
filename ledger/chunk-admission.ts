/**
 * Rate admission of a chunk of requests that share their buckets (a batch's items of one model) in one
 * transaction: the buckets are locked once (in the global order, as `tryAcquire`), read once, and the
 * requests are admitted in order, each against the buckets as the ones before it left them, exactly as
 * that many `tryAcquire` calls one after the other would decide. The first request that has to wait
 * stops the chunk: it and every request after it wait (with its retry time), so the order is kept; a
 * request that can never fit (larger than a limit) is refused on its own and the next ones go on. The
 * admitted ones' counters, lease rows and log rows are written in one statement.
 *
 * Idempotent per lease id: a lease admitted before answers `replayed` and is counted once.
 */
import {
  admitIntoDay,
  decideAdmission,
  upstreamLive,
  type Admission,
  type BucketSnapshot,
  type RateBlock,
  type RateLimits,
} from './rate-math';
import {
  assertLimits,
  dayOf,
  lockBuckets,
  LOG_KEEP_MS,
  minuteFits,
  recentAdmissions,
  upstreamOf,
  type BucketRequest,
} from './ratelimit';
import { MINUTE_WINDOW_MS } from './rate-math';
import { asNumber, asString, type SqlSession } from './sql';

export interface AcquireManyInput {
  buckets: BucketRequest[];
  /** in order; each a lease id and its estimated tokens */
  requests: readonly { leaseId: string; tokens: number }[];
  /** epoch ms */
  now: number;
  leaseTtlMs: number;
}

export type ChunkAdmission =
  | { admitted: true; leaseId: string; expiresAt: number; replayed: boolean }
  | { admitted: false; leaseId: string; retryAfterMs: number | null; blockedBy: RateBlock[] };

/** One admission per request, in the order of `requests`. */
export async function tryAcquireMany(db: SqlSession, input: AcquireManyInput): Promise<ChunkAdmission[]> {
  const { now, leaseTtlMs } = input;
  if (input.buckets.length === 0) throw new RangeError('tryAcquireMany needs at least one bucket');
  if (!Number.isSafeInteger(now) || now < 0) throw new RangeError('now must be whole milliseconds >= 0');
  if (!Number.isSafeInteger(leaseTtlMs) || leaseTtlMs <= 0) throw new RangeError('leaseTtlMs must be > 0');
  const byKey = new Map<string, RateLimits>();
  for (const bucket of input.buckets) {
    if (!bucket.key || byKey.has(bucket.key))
      throw new RangeError(`bucket ${bucket.key} is missing or listed twice`);
    assertLimits(bucket.key, bucket.limits);
    byKey.set(bucket.key, bucket.limits);
  }
  const leaseIds = new Set<string>();
  for (const request of input.requests) {
    if (!request.leaseId || leaseIds.has(request.leaseId)) throw new RangeError('lease ids must be unique');
    if (!Number.isSafeInteger(request.tokens) || request.tokens < 0)
      throw new RangeError('tokens must be >= 0');
    leaseIds.add(request.leaseId);
  }
  if (input.requests.length === 0) return [];
  const keys = [...byKey.keys()].sort();
  const minuteKeys = keys.filter(
    (key) => byKey.get(key)!.rpm !== undefined || byKey.get(key)!.tpm !== undefined,
  );
  const concurrencyKeys = keys.filter((key) => byKey.get(key)!.concurrency !== undefined);

  return db.transaction(async (tx): Promise<ChunkAdmission[]> => {
    const rows = await lockBuckets(tx, keys);
    // the earlier leases of these ids, the minute totals and the open leases, in one statement
    const read = await tx.query(
      `WITH pruned AS (DELETE FROM rate_admissions WHERE bucket = ANY($1::text[]) AND at <= $2::bigint)
       SELECT 'a' AS kind, bucket, NULL AS lease_id, count(*) AS t, COALESCE(sum(tokens), 0)::bigint AS tokens
         FROM rate_admissions WHERE bucket = ANY($3::text[]) AND at > $4::bigint GROUP BY bucket
       UNION ALL
       SELECT 'l', bucket, NULL, expires_at, 0 FROM rate_leases
        WHERE bucket = ANY($5::text[]) AND released_at IS NULL AND expires_at > $6::bigint
       UNION ALL
       SELECT 'e', NULL, lease_id, max(expires_at), 0 FROM rate_leases WHERE lease_id = ANY($7::text[]) GROUP BY lease_id`,
      [keys, now - LOG_KEEP_MS, minuteKeys, now - MINUTE_WINDOW_MS, concurrencyKeys, now, [...leaseIds]],
    );
    const minute = new Map(minuteKeys.map((key) => [key, { requests: 0, tokens: 0 }]));
    const open = new Map(concurrencyKeys.map((key) => [key, [] as number[]]));
    const earlier = new Map<string, number>();
    for (const row of read.rows) {
      const time = asNumber(row.t, 't');
      if (row.kind === 'e') earlier.set(asString(row.lease_id, 'lease_id'), time);
      else if (row.kind === 'a')
        minute.set(asString(row.bucket, 'bucket'), {
          requests: time,
          tokens: asNumber(row.tokens, 'tokens'),
        });
      else open.get(asString(row.bucket, 'bucket'))?.push(time);
    }
    const snapshots: BucketSnapshot[] = keys.map((key) => {
      const row = rows.get(key);
      if (!row) throw new Error(`rate bucket ${key} was not locked`);
      return {
        key,
        limits: byKey.get(key)!,
        day: dayOf(row),
        recent: [],
        upstream: upstreamOf(row),
        openLeaseExpiries: (open.get(key) ?? []).sort((a, b) => a - b),
      };
    });
    // the log of a bucket whose minute is full, read once, with this chunk's admissions added as they come
    const logs = new Map<string, Admission[]>();
    const admittedHere: Admission[] = [];

    const results: ChunkAdmission[] = [];
    const admitted: { leaseId: string; tokens: number }[] = [];
    const live = snapshots.map((snapshot) => ({
      tokens: upstreamLive(snapshot.upstream.tokens, now),
      requests: upstreamLive(snapshot.upstream.requests, now),
    }));
    const expiresAt = now + leaseTtlMs;
    let waitMs: number | null | undefined;
    for (const request of input.requests) {
      const before = earlier.get(request.leaseId);
      if (before !== undefined) {
        results.push({ admitted: true, leaseId: request.leaseId, expiresAt: before, replayed: true });
        continue;
      }
      if (waitMs !== undefined) {
        results.push({ admitted: false, leaseId: request.leaseId, retryAfterMs: waitMs, blockedBy: [] });
        continue;
      }
      // a bucket whose minute totals leave room decides the same without its log (see tryAcquire)
      for (const snapshot of snapshots) {
        const used = minute.get(snapshot.key);
        if (!used) continue;
        if (minuteFits(snapshot.limits, used, request.tokens)) snapshot.recent = [];
        else {
          if (!logs.has(snapshot.key)) logs.set(snapshot.key, await recentAdmissions(tx, snapshot.key, now));
          snapshot.recent = [...logs.get(snapshot.key)!, ...admittedHere];
        }
      }
      const decision = decideAdmission(snapshots, request.tokens, now);
      if (!decision.admitted) {
        const { retryAfterMs, blockedBy } = decision;
        results.push({ admitted: false, leaseId: request.leaseId, retryAfterMs, blockedBy });
        // larger than a limit: only this request is refused; otherwise it and the rest wait, in order
        if (decision.retryAfterMs !== null) waitMs = decision.retryAfterMs;
        continue;
      }
      snapshots.forEach((snapshot, n) => {
        snapshot.day = admitIntoDay(snapshot.day, request.tokens, now);
        if (snapshot.limits.concurrency !== undefined) snapshot.openLeaseExpiries.push(expiresAt);
        const used = minute.get(snapshot.key);
        if (used)
          minute.set(snapshot.key, { requests: used.requests + 1, tokens: used.tokens + request.tokens });
        const upstream = snapshot.upstream;
        if (live[n]!.tokens && upstream.tokens)
          upstream.tokens = { ...upstream.tokens, consumed: upstream.tokens.consumed + request.tokens };
        if (live[n]!.requests && upstream.requests)
          upstream.requests = { ...upstream.requests, consumed: upstream.requests.consumed + 1 };
      });
      admittedHere.push({ at: now, tokens: request.tokens });
      admitted.push(request);
      results.push({ admitted: true, leaseId: request.leaseId, expiresAt, replayed: false });
    }
    if (admitted.length === 0) return results;

    const tokensTotal = admitted.reduce((sum, request) => sum + request.tokens, 0);
    const pairs = keys.flatMap((key) => admitted.map((request) => ({ key, request })));
    // every bucket's counters, the lease rows and log rows of every admitted request, in one statement
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
        keys,
        snapshots.map((snapshot) => snapshot.day.dayStart),
        snapshots.map((snapshot) => snapshot.day.dayRequests),
        snapshots.map((snapshot) => snapshot.day.dayTokens),
        live.map((flags) => (flags.tokens ? tokensTotal : 0)),
        live.map((flags) => (flags.requests ? admitted.length : 0)),
        now,
        pairs.map(({ request }) => request.leaseId),
        pairs.map(({ key }) => key),
        pairs.map(({ request }) => request.tokens),
        expiresAt,
        pairs.map(({ key }) => snapshots.find((snapshot) => snapshot.key === key)!.day.dayStart),
      ],
    );
    return results;
  });
}
