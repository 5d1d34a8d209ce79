/**
 * The pure arithmetic of rate-limit admission, separate from storage so it can be tested exhaustively.
 * All times are epoch milliseconds supplied by the caller.
 *
 * Model:
 *  - RPM/TPM are a strict sliding window with a guard band: a request admitted at `at` counts during
 *    [at, at + 61 s), 60 s plus RATE_GUARD_MS. A request fits at `now` when the requests (tokens)
 *    admitted in (now - 61 s, ...] plus this one stay within the limit, so no 61 s interval, wherever it
 *    starts, ever holds more than the limit. It fits again once enough of the oldest admissions have left
 *    the window. The extra second absorbs the clocks that differ between admission and Groq: each call
 *    reaches Groq a little after its admission (and processes' clocks differ by a little), so a 60 s
 *    window at Groq holds only calls admitted within about 61 s of each other, never more than the limit
 *    while those delays stay under a second. It costs 1/61 of the limit's throughput.
 *  - RPD/TPD count in fixed UTC days; a full day admits again at the next UTC midnight.
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
/** How much longer than a minute an admission counts against RPM/TPM (see the model above). */
export const RATE_GUARD_MS = 1_000;
/** The span an admission counts in the per-minute limits: 61 s. */
export const MINUTE_WINDOW_MS = MINUTE_MS + RATE_GUARD_MS;
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

/** The fixed UTC-day counters stored on the bucket row. */
export interface DayCounters {
  dayStart: number;
  dayRequests: number;
  dayTokens: number;
}

/**
 * A bucket's usage as seen at some `now`: the sliding minute (admissions at or after `minuteStart`,
 * which is now - MINUTE_WINDOW_MS + 1 ms, the guard band included) and the current UTC day.
 */
export interface WindowCounters extends DayCounters {
  minuteStart: number;
  minuteRequests: number;
  minuteTokens: number;
}

/** One admission in a bucket's sliding log. */
export interface Admission {
  /** epoch ms of the admission; it counts in the minute window until at + MINUTE_WINDOW_MS (exclusive) */
  at: number;
  tokens: number;
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
  /** the stored UTC-day counters (rolled over by `currentDay`) */
  day: DayCounters;
  /** the bucket's admissions still in the sliding minute at `now` (any order; older ones are ignored) */
  recent: Admission[];
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

/** The day counters as they stand at `now`: a day that has ended counts zero. */
export function currentDay(stored: DayCounters, now: number): DayCounters {
  const day = windowStart(now, DAY_MS);
  // a day start ahead of `now` (another process's clock runs ahead) is kept: never count backwards
  const live = stored.dayStart >= day;
  return {
    dayStart: live ? stored.dayStart : day,
    dayRequests: live ? stored.dayRequests : 0,
    dayTokens: live ? stored.dayTokens : 0,
  };
}

/** Whether an admission still counts in the sliding minute (guard band included) at `now`. */
export function inMinute(admission: Admission, now: number): boolean {
  return admission.at > now - MINUTE_WINDOW_MS;
}

/** The admissions that count at `now`, oldest first (ties keep their input order). */
export function liveAdmissions(recent: readonly Admission[], now: number): Admission[] {
  return recent.filter((a) => inMinute(a, now)).sort((a, b) => a.at - b.at);
}

/** Requests and tokens in the sliding minute at `now`. */
export function minuteUsage(recent: readonly Admission[], now: number): { requests: number; tokens: number } {
  let requests = 0;
  let tokens = 0;
  for (const admission of recent) {
    if (!inMinute(admission, now)) continue;
    requests++;
    tokens += admission.tokens;
  }
  return { requests, tokens };
}

/**
 * The earliest time >= `now` at which a request of `need` units fits a sliding-minute limit, given the
 * admissions in the window and what each weighs (1 for requests, its tokens for tokens); null when
 * `need` exceeds the limit itself. The oldest admissions leave first: admission `a` leaves at
 * a.at + MINUTE_WINDOW_MS.
 */
export function slidingFitAt(
  recent: readonly Admission[],
  weight: (admission: Admission) => number,
  limit: number,
  need: number,
  now: number,
): number | null {
  if (need > limit) return null;
  const live = liveAdmissions(recent, now);
  let used = live.reduce((sum, a) => sum + weight(a), 0);
  if (used + need <= limit) return now;
  for (const admission of live) {
    used -= weight(admission);
    if (used + need <= limit) return Math.max(now, admission.at + MINUTE_WINDOW_MS);
  }
  // unreachable: with every admission gone, used is 0 and need <= limit
  return null;
}

/** The bucket's counters as reported at `now` (sliding minute and current day). */
export function windowsAt(day: DayCounters, recent: readonly Admission[], now: number): WindowCounters {
  const minute = minuteUsage(recent, now);
  return {
    minuteStart: now - MINUTE_WINDOW_MS + 1,
    minuteRequests: minute.requests,
    minuteTokens: minute.tokens,
    ...currentDay(day, now),
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
  const { key, limits, upstream, recent } = snapshot;
  const w = currentDay(snapshot.day, now);
  const blocks: RateBlock[] = [];
  const dayEnd = w.dayStart + DAY_MS;
  if (limits.rpm !== undefined) {
    const at = slidingFitAt(recent, () => 1, limits.rpm, 1, now);
    check(blocks, key, 'rpm', at === now, at);
  }
  if (limits.tpm !== undefined) {
    const at = slidingFitAt(recent, (a) => a.tokens, limits.tpm, tokens, now);
    check(blocks, key, 'tpm', at === now, at);
  }
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

/** Day counters after admitting one request of `tokens` tokens at `now`. */
export function admitIntoDay(stored: DayCounters, tokens: number, now: number): DayCounters {
  const w = currentDay(stored, now);
  return { ...w, dayRequests: w.dayRequests + 1, dayTokens: w.dayTokens + tokens };
}

/** Whether an upstream observation is still in force at `now` (admissions count against it). */
export function upstreamLive(dimension: UpstreamDimension | null, now: number): boolean {
  return dimension !== null && now < dimension.resetAt;
}
