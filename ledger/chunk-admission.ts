/**
 * Rate admission of a chunk of requests that share their buckets (a batch's items of one model) in one
 * transaction: the buckets are locked once (in the global order, as `tryAcquire`), read once, and the
 * requests are admitted in order, each against the buckets as the ones before it left them, exactly as
 * that many `tryAcquire` calls one after the other would decide. The first request that has to wait
 * stops the chunk: it and every request after it wait, so the order is kept; a request that can never
 * fit (larger than a limit) is refused on its own and the next ones go on. When the per-minute limits
 * are what it waits for, each waiting request is told when it would fit, and the ones that would fit
 * within a second of each other wake together (./rate-forecast.ts), so the chunk's next run admits them
 * in one go; otherwise all wait the first one's retry time. The admitted ones' counters, lease rows and
 * log rows are written in one statement.
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
  type RateLimitName,
  type RateLimits,
} from './rate-math';
import {
  assertLimits,
  dayOf,
  lockBuckets,
  LOG_KEEP_MS,
  minuteFits,
  PRUNE_LOG_CTE,
  recentAdmissions,
  upstreamOf,
  writeAdmissions,
  type BucketRequest,
} from './ratelimit';
import { MINUTE_WINDOW_MS } from './rate-math';
import { forecastFits, wakeTogether } from './rate-forecast';
import { asNumber, asString, type SqlSession } from './sql';

/** The limits a forecast of the sliding minute can time (for the others, all wait as the first one does). */
const MINUTE_LIMITS = new Set<RateLimitName>(['rpm', 'tpm']);

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
    // the earlier leases of these ids, the minute totals (governor_minute_totals) and the open leases, in
    // one statement
    const read = await tx.query(
      `WITH ${PRUNE_LOG_CTE}
       SELECT 'a' AS kind, bucket, NULL AS lease_id, requests AS t, tokens
         FROM governor_minute_totals($3::text[], $4::bigint)
       UNION ALL
       SELECT 'l', bucket, NULL, expires_at, 0 FROM rate_leases
        WHERE bucket = ANY($5::text[]) AND released_at IS NULL AND expires_at > $6::bigint
       UNION ALL
       SELECT 'e', NULL, lease_id, max(expires_at), 0 FROM rate_leases WHERE lease_id = ANY($7::text[]) GROUP BY lease_id`,
      [
        keys,
        now - LOG_KEEP_MS,
        minuteKeys,
        now - MINUTE_WINDOW_MS,
        concurrencyKeys,
        now,
        [...leaseIds],
        LOG_KEEP_MS,
      ],
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
    /** the bucket's whole sliding minute (its log, read once, and this chunk's admissions) */
    const withLog = async (snapshot: BucketSnapshot) => {
      if (!logs.has(snapshot.key)) logs.set(snapshot.key, await recentAdmissions(tx, snapshot.key, now));
      snapshot.recent = [...logs.get(snapshot.key)!, ...admittedHere];
    };

    const results: ChunkAdmission[] = [];
    const admitted: { leaseId: string; tokens: number }[] = [];
    const live = snapshots.map((snapshot) => ({
      tokens: upstreamLive(snapshot.upstream.tokens, now),
      requests: upstreamLive(snapshot.upstream.requests, now),
    }));
    const expiresAt = now + leaseTtlMs;
    // the wait of the first request that has to wait, and of every later one (see rate-forecast.ts)
    const waitsFrom = async (first: number, retryAfterMs: number, blockedBy: RateBlock[]) => {
      const waiting = input.requests.slice(first).filter((request) => !earlier.has(request.leaseId));
      if (waiting.length < 2 || !blockedBy.every((block) => MINUTE_LIMITS.has(block.limit)))
        return waiting.map(() => retryAfterMs);
      for (const snapshot of snapshots) if (minute.has(snapshot.key)) await withLog(snapshot);
      const fits = forecastFits(
        snapshots,
        waiting.map((request) => request.tokens),
        now,
      );
      // never sooner than the first one's own retry time
      return wakeTogether(fits, now).map((wait) => Math.max(wait, retryAfterMs));
    };
    for (const [index, request] of input.requests.entries()) {
      const before = earlier.get(request.leaseId);
      if (before !== undefined) {
        results.push({ admitted: true, leaseId: request.leaseId, expiresAt: before, replayed: true });
        continue;
      }
      // a bucket whose minute totals leave room decides the same without its log (see tryAcquire)
      for (const snapshot of snapshots) {
        const used = minute.get(snapshot.key);
        if (!used) continue;
        if (minuteFits(snapshot.limits, used, request.tokens)) snapshot.recent = [];
        else await withLog(snapshot);
      }
      const decision = decideAdmission(snapshots, request.tokens, now);
      if (!decision.admitted) {
        const { retryAfterMs, blockedBy } = decision;
        // larger than a limit: only this request is refused; otherwise it and the rest wait, in order
        if (retryAfterMs === null) {
          results.push({ admitted: false, leaseId: request.leaseId, retryAfterMs, blockedBy });
          continue;
        }
        const waits = await waitsFrom(index, retryAfterMs, blockedBy);
        let next = 0;
        for (const later of input.requests.slice(index)) {
          const replayed = earlier.get(later.leaseId);
          if (replayed !== undefined)
            results.push({ admitted: true, leaseId: later.leaseId, expiresAt: replayed, replayed: true });
          else
            results.push({
              admitted: false,
              leaseId: later.leaseId,
              retryAfterMs: waits[next++]!,
              blockedBy: later === request ? blockedBy : [],
            });
        }
        break;
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
    // every bucket's counters, the lease rows and log rows of every admitted request, in one statement
    await writeAdmissions(tx, {
      buckets: snapshots.map((snapshot, n) => ({
        key: snapshot.key,
        day: snapshot.day,
        tokensConsumed: live[n]!.tokens ? tokensTotal : 0,
        requestsConsumed: live[n]!.requests ? admitted.length : 0,
      })),
      leases: admitted.map((request) => ({ leaseId: request.leaseId, tokens: request.tokens })),
      now,
      expiresAt,
    });
    return results;
  });
}
