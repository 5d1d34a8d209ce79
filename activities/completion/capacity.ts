/**
 * The rate-limit step: admit the request against the team's limits and Groq's org limits for the
 * model, atomically and for every worker process at once (the state lives in the ledger). Batch
 * traffic sees 80% of each limit, so interactive requests of the same team always find room.
 */
import { modelBucket, teamBucket, type RateLimits } from '../../ledger';
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

export async function acquireCapacity(deps: CompletionDeps, input: CapacityInput): Promise<CapacityResult> {
  const config = deps.config();
  const team = config.teams.get(input.team);
  if (!team) throw new Error(`team ${input.team} vanished from the configuration`);
  const share = input.interactive ? 100 : BATCH_SHARE_PERCENT;
  const buckets = [
    {
      key: teamBucket(team.name),
      limits: scaled({ rpm: team.rpm, tpm: team.tpm, concurrency: team.concurrency }, share),
    },
  ];
  const modelLimits = config.groq.limits.get(input.model);
  if (modelLimits) buckets.push({ key: modelBucket(input.model), limits: scaled({ ...modelLimits }, share) });
  const result = await deps.ledger.tryAcquire({
    buckets,
    tokens: input.tokens,
    now: deps.now(),
    leaseId: input.leaseId,
    leaseTtlMs: LEASE_TTL_MS,
  });
  return result.admitted ? { admitted: true } : { admitted: false, retryAfterMs: result.retryAfterMs };
}
