/**
 * The rate-limit step: admit the request against the team's limits and Groq's org limits for the
 * model, atomically and for every worker process at once (the state lives in the ledger). Batch
 * traffic sees 80% of each limit, so interactive requests of the same team always find room.
 */
import type { GovernorConfig } from '../../domain/config';
import { modelBucket, teamBucket, type BucketRequest, type RateLimits } from '../../ledger';
import type { CompletionDeps } from './deps';
import type { CapacityInput, CapacityResult } from './types';

/** Share of every limit that batch items may use; the rest is kept for interactive requests. */
export const BATCH_SHARE_PERCENT = 80;
/** A concurrency slot frees itself after this long if its holder died. */
export const LEASE_TTL_MS = 120_000;

function scaled(limits: RateLimits, percent: number): RateLimits {
  const out: RateLimits = {};
  for (const [name, value] of Object.entries(limits) as [keyof RateLimits, number | undefined][]) {
    if (value !== undefined) out[name] = Math.max(1, Math.floor((value * percent) / 100));
  }
  return out;
}

/** The buckets a request of `team` for `model` is admitted against, with the limits of its share. */
export function capacityBuckets(
  config: GovernorConfig,
  teamName: string,
  model: string,
  interactive: boolean,
): BucketRequest[] {
  const team = config.teams.get(teamName);
  if (!team) throw new Error(`team ${teamName} vanished from the configuration`);
  const share = interactive ? 100 : BATCH_SHARE_PERCENT;
  const buckets: BucketRequest[] = [
    {
      key: teamBucket(team.name),
      limits: scaled({ rpm: team.rpm, tpm: team.tpm, concurrency: team.concurrency }, share),
    },
  ];
  const modelLimits = config.groq.limits.get(model);
  if (modelLimits) buckets.push({ key: modelBucket(model), limits: scaled({ ...modelLimits }, share) });
  return buckets;
}

export async function acquireCapacity(deps: CompletionDeps, input: CapacityInput): Promise<CapacityResult> {
  const buckets = capacityBuckets(deps.config(), input.team, input.model, input.interactive);
  const result = await deps.ledger.tryAcquire({
    buckets,
    tokens: input.tokens,
    now: deps.now(),
    leaseId: input.leaseId,
    leaseTtlMs: LEASE_TTL_MS,
  });
  return result.admitted ? { admitted: true } : { admitted: false, retryAfterMs: result.retryAfterMs };
}
