/**
 * The protocol between a worker and its egress process (workers/egress): the worker's groq-sdk client
 * points at the egress, which forwards every request to Groq unchanged and, for a request that names its
 * reservation, writes Groq's answer to the egress journal before passing it on.
 */
export const EGRESS_HEADERS = {
  /** the process's secret: the egress forwards nothing without it */
  token: 'x-governor-egress-token',
  /** the reservation this call spends: the journal's key */
  attempt: 'x-governor-attempt',
  /** the upstream key version the call uses (booked with the answer) */
  keyVersion: 'x-governor-key-version',
  /** on an answer the egress made itself, not Groq: `fenced` or `no-answer` (or `bad-token`) */
  error: 'x-governor-egress-error',
} as const;

/** Appended to a worker's identity in a call claim when the call went through its egress. */
export const EGRESS_CLAIM_SUFFIX = ' via egress';

export function claimedViaEgress(claimedBy: string | null | undefined): boolean {
  return typeof claimedBy === 'string' && claimedBy.endsWith(EGRESS_CLAIM_SUFFIX);
}

/** How long past its call timeout an egress's journal lease runs (answer write, clock skew). */
export const EGRESS_LEASE_MARGIN_MS = 15_000;
