/**
 * When the requests of a chunk that has to wait would fit, and when to wake them: pure arithmetic on the
 * snapshots `tryAcquireMany` has read (./rate-math.ts's model).
 *
 * When a chunk's first request has to wait for the per-minute limits (RPM, TPM), each later request fits
 * only after more of the sliding minute's admissions have left it. Woken all at the first one's time, the
 * chunk would admit one or two requests per run and send the rest back to wait again, each run costing its
 * statements for a request or two. Instead each waiting request is told the time at which it and the ones
 * before it would fit (`forecastFits`), and requests whose times lie within a short spread wake together
 * at the latest of them (`wakeTogether`), so one run admits them all. A forecast only advises a wait:
 * admission is still decided when the chunk runs again.
 */
import { admitIntoDay, decideAdmission, type BucketSnapshot } from './rate-math';

/** Requests whose fit times lie within this span of the group's first wake together (at the last one). */
export const WAKE_SPREAD_MS = 1_000;
/** Steps of the search for one request's fit time before it settles for the time reached. */
const MAX_STEPS = 16;

function copy(snapshot: BucketSnapshot): BucketSnapshot {
  return {
    ...snapshot,
    day: { ...snapshot.day },
    recent: [...snapshot.recent],
    upstream: {
      ...snapshot.upstream,
      tokens: snapshot.upstream.tokens ? { ...snapshot.upstream.tokens } : null,
      requests: snapshot.upstream.requests ? { ...snapshot.upstream.requests } : null,
    },
    openLeaseExpiries: [...snapshot.openLeaseExpiries],
  };
}

/**
 * For requests of `tokens` each, in order, the time each would be admitted if every one were admitted as
 * soon as it fits, from `now`, with no other traffic; null for a request that can never fit (it is
 * refused on its own and the next ones go on). The requests' own leases are not counted against a
 * concurrency limit: a lease ends when its call answers, long before it would expire. `snapshots` must
 * hold every minute-limited bucket's whole log (not the shortcut of minute totals); they are not changed.
 */
export function forecastFits(
  snapshots: readonly BucketSnapshot[],
  tokens: readonly number[],
  now: number,
): (number | null)[] {
  const state = snapshots.map(copy);
  const fits: (number | null)[] = [];
  let at = now;
  for (const need of tokens) {
    let decision = decideAdmission(state, need, at);
    for (let step = 0; !decision.admitted && decision.retryAfterMs !== null && step < MAX_STEPS; step++) {
      at += Math.max(1, decision.retryAfterMs);
      decision = decideAdmission(state, need, at);
    }
    if (!decision.admitted && decision.retryAfterMs === null) {
      fits.push(null);
      continue;
    }
    fits.push(at);
    for (const snapshot of state) {
      snapshot.day = admitIntoDay(snapshot.day, need, at);
      snapshot.recent.push({ at, tokens: need });
      const { upstream } = snapshot;
      if (upstream.tokens && at < upstream.tokens.resetAt) upstream.tokens.consumed += need;
      if (upstream.requests && at < upstream.requests.resetAt) upstream.requests.consumed += 1;
    }
  }
  return fits;
}

/**
 * Wake times (ms from `now`) for waiting requests with the given fit times, in order: consecutive requests
 * whose fit times lie within `spreadMs` of their group's first wake together at the group's last fit time.
 * A request that can never fit (null) wakes with the group before it, to be refused when its chunk runs.
 */
export function wakeTogether(
  fits: readonly (number | null)[],
  now: number,
  spreadMs = WAKE_SPREAD_MS,
): number[] {
  const waits: number[] = [];
  let start = 0;
  while (start < fits.length) {
    const first = fits[start] ?? now;
    let end = start + 1;
    let last = first;
    while (end < fits.length) {
      const at = fits[end];
      if (at !== null && at !== undefined && at > first + spreadMs) break;
      if (at !== null && at !== undefined) last = Math.max(last, at);
      end++;
    }
    for (let n = start; n < end; n++) waits.push(Math.max(0, last - now));
    start = end;
  }
  return waits;
}
