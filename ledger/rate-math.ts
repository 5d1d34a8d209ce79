/**
 * The pure arithmetic of rate-limit admission, separate from storage so it can be tested exhaustively.
 * All times are epoch milliseconds supplied by the caller.
 *
 * Model:
 *  - RPM/TPM count requests/tokens in fixed minute windows [k*60s, (k+1)*60s); RPD/TPD in fixed UTC days.
 *    A window that fills up admits again when the next window starts.
 *  - Concurrency counts open leases (not released, not expired).
 *  - Upstream feedback (Groq's headers) per dimension: `remaining` as observed at `observedAt`, less what
 *    the governor admitted since (`consumed`), plus a linear refill of (limit - remaining) over the time
 *    to `resetAt` when the limit is known. After `resetAt` the observation no longer constrains.
 *    `retry-after` blocks the bucket until `blockedUntil`.
 * A request is admitted only if it fits every limit of every bucket. Each constraint frees up
 * monotonically with time (absent other traffic), so the earliest time the request fits everything is
 * the latest of the per-constraint earliest times.
 */

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

export interface RateLimits {
  rpm?: number;
  rpd?: number;
  tpm?: number;
  tpd?: number;
  concurrency?: number;
}

export type RateLimitName =
  keyof RateLimits | 'upstream_retry_after' | 'upstream_tokens' | 'upstream_requests';

export interface WindowCounters {
  minuteStart: number;
  minuteRequests: number;
  minuteTokens: number;
  dayStart: number;
  dayRequests: number;
  dayTokens: number;
}

export interface UpstreamDimension {
  observedAt: number;
  /** the limit Groq reported, if any (enables the refill estimate) */
  limit: number | null;
  /** remaining as reported at observedAt */
  remaining: number;
  resetAt: number;
  /** admitted by the governor since observedAt */
  consumed: number;
}

export interface UpstreamState {
  tokens: UpstreamDimension | null;
  requests: UpstreamDimension | null;
  blockedUntil: number | null;
}

export interface BucketSnapshot {
  key: string;
  limits: RateLimits;
  windows: WindowCounters;
  upstream: UpstreamState;
  /** expiry times of the bucket's open leases at `now`, ascending */
  openLeaseExpiries: number[];
}

/** A limit the request does not fit now; retryAt null: it can never fit (larger than the limit). */
export interface RateBlock {
  bucket: string;
  limit: RateLimitName;
  retryAt: number | null;
}

export function windowStart(now: number, size: number): number {
  return now - (((now % size) + size) % size);
}

/** The counters as they stand at `now`: a window that has ended counts zero. */
export function currentWindows(stored: WindowCounters, now: number): WindowCounters {
  const minute = windowStart(now, MINUTE_MS);
  const day = windowStart(now, DAY_MS);
  // a window start ahead of `now` (another process's clock runs ahead) is kept: never count backwards
  const minuteLive = stored.minuteStart >= minute;
  const dayLive = stored.dayStart >= day;
  return {
    minuteStart: minuteLive ? stored.minuteStart : minute,
    minuteRequests: minuteLive ? stored.minuteRequests : 0,
    minuteTokens: minuteLive ? stored.minuteTokens : 0,
    dayStart: dayLive ? stored.dayStart : day,
    dayRequests: dayLive ? stored.dayRequests : 0,
    dayTokens: dayLive ? stored.dayTokens : 0,
  };
}

/**
 * When can `need` units pass an upstream dimension? `now` when they fit already, the earliest later
 * time otherwise, null when `need` exceeds the upstream limit itself.
 */
export function upstreamFitAt(dimension: UpstreamDimension | null, need: number, now: number): number | null {
  if (!dimension || now >= dimension.resetAt) return now;
  const { observedAt, limit, remaining, resetAt, consumed } = dimension;
  if (limit !== null && need > limit) return null;
  const deficit = BigInt(need) - BigInt(remaining - consumed);
  if (deficit <= 0n) return now;
  const span = BigInt(Math.max(0, resetAt - observedAt));
  const refillable = limit !== null ? BigInt(Math.max(0, limit - remaining)) : 0n;
  if (span === 0n || refillable === 0n) return resetAt;
  const elapsed = BigInt(Math.max(0, now - observedAt));
  if ((elapsed * refillable) / span >= deficit) return now;
  // smallest t with floor((t - observedAt) * refillable / span) >= deficit
  const needed = (deficit * span + refillable - 1n) / refillable;
  return Math.min(observedAt + Number(needed), resetAt);
}

function check(
  blocks: RateBlock[],
  bucket: string,
  limit: RateLimitName,
  fits: boolean,
  retryAt: number | null,
) {
  if (!fits) blocks.push({ bucket, limit, retryAt });
}

/** Every limit of one bucket that the request (1 request, `tokens` tokens) does not fit at `now`. */
export function blocksOf(snapshot: BucketSnapshot, tokens: number, now: number): RateBlock[] {
  const { key, limits, upstream } = snapshot;
  const w = currentWindows(snapshot.windows, now);
  const blocks: RateBlock[] = [];
  const minuteEnd = w.minuteStart + MINUTE_MS;
  const dayEnd = w.dayStart + DAY_MS;
  if (limits.rpm !== undefined)
    check(blocks, key, 'rpm', w.minuteRequests + 1 <= limits.rpm, limits.rpm >= 1 ? minuteEnd : null);
  if (limits.tpm !== undefined)
    check(blocks, key, 'tpm', w.minuteTokens + tokens <= limits.tpm, tokens <= limits.tpm ? minuteEnd : null);
  if (limits.rpd !== undefined)
    check(blocks, key, 'rpd', w.dayRequests + 1 <= limits.rpd, limits.rpd >= 1 ? dayEnd : null);
  if (limits.tpd !== undefined)
    check(blocks, key, 'tpd', w.dayTokens + tokens <= limits.tpd, tokens <= limits.tpd ? dayEnd : null);
  if (limits.concurrency !== undefined) {
    const open = snapshot.openLeaseExpiries.length;
    const max = limits.concurrency;
    // to fit, open - max + 1 leases must end: the (open - max + 1)-th earliest expiry
    check(
      blocks,
      key,
      'concurrency',
      open + 1 <= max,
      max >= 1 ? (snapshot.openLeaseExpiries[open - max] ?? now) : null,
    );
  }
  if (upstream.blockedUntil !== null && upstream.blockedUntil > now) {
    blocks.push({ bucket: key, limit: 'upstream_retry_after', retryAt: upstream.blockedUntil });
  }
  const tokensAt = upstreamFitAt(upstream.tokens, tokens, now);
  check(blocks, key, 'upstream_tokens', tokensAt === now, tokensAt);
  const requestsAt = upstreamFitAt(upstream.requests, 1, now);
  check(blocks, key, 'upstream_requests', requestsAt === now, requestsAt);
  return blocks;
}

export type AdmissionDecision =
  { admitted: true } | { admitted: false; retryAfterMs: number | null; blockedBy: RateBlock[] };

/** All buckets or none: admitted only when no bucket blocks. */
export function decideAdmission(snapshots: BucketSnapshot[], tokens: number, now: number): AdmissionDecision {
  const blockedBy = snapshots.flatMap((snapshot) => blocksOf(snapshot, tokens, now));
  if (blockedBy.length === 0) return { admitted: true };
  let latest = now;
  for (const block of blockedBy) {
    if (block.retryAt === null) return { admitted: false, retryAfterMs: null, blockedBy };
    latest = Math.max(latest, block.retryAt);
  }
  return { admitted: false, retryAfterMs: latest - now, blockedBy };
}

/** Counters after admitting one request of `tokens` tokens at `now`. */
export function admitInto(stored: WindowCounters, tokens: number, now: number): WindowCounters {
  const w = currentWindows(stored, now);
  return {
    ...w,
    minuteRequests: w.minuteRequests + 1,
    minuteTokens: w.minuteTokens + tokens,
    dayRequests: w.dayRequests + 1,
    dayTokens: w.dayTokens + tokens,
  };
}

/** Whether an upstream observation is still in force at `now` (admissions count against it). */
export function upstreamLive(dimension: UpstreamDimension | null, now: number): boolean {
  return dimension !== null && now < dimension.resetAt;
}
