/** A rate bucket's snapshot for the pure rate-limit tests: no day counted, no upstream feedback, no leases. */
import type { Admission, BucketSnapshot, RateLimits } from '../../ledger/rate-math';

export function snapshot(
  limits: RateLimits,
  recent: Admission[] = [],
  extra: Partial<BucketSnapshot> = {},
): BucketSnapshot {
  return {
    key: 'b',
    limits,
    day: { dayStart: 0, dayRequests: 0, dayTokens: 0 },
    recent,
    upstream: { tokens: null, requests: null, blockedUntil: null },
    openLeaseExpiries: [],
    ...extra,
  };
}
