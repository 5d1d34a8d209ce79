/**
 * The rate-limit step of the modality endpoints, for every process at once (the state is in the ledger):
 * the team's RPM/TPM/concurrency and Groq's limits for the model in one admission of the shared limiter
 * (speech-to-text models: their RPM/RPD; others: RPM/RPD/TPM/TPD), and for speech to text the audio
 * seconds against Groq's ASH/ASD. All or nothing: audio seconds admitted for a request the limiter then
 * refuses are given back.
 */
import { modelBucket, teamBucket, type BucketRequest } from '../../ledger';
import { audioBucket, releaseAudio, tryAcquireAudio } from '../../ledger/modalities';
import { LEASE_TTL_MS } from '../completion/capacity';
import type { CapacityResult } from '../completion/types';
import type { ModalityDeps } from './deps';

export interface ModalityCapacityInput {
  leaseId: string;
  team: string;
  model: string;
  /** counted against TPM/TPD: the responses estimate, the speech characters, 0 for audio */
  tokens: number;
  /** speech to text: the worst-case billed seconds */
  audioSeconds?: number;
}

export async function acquireModalityCapacity(
  deps: ModalityDeps,
  input: ModalityCapacityInput,
): Promise<CapacityResult> {
  const config = deps.config();
  const team = config.teams.get(input.team);
  if (!team) throw new Error(`team ${input.team} vanished from the configuration`);
  const now = deps.now();
  const audioLimits = config.groq.audioLimits.get(input.model);
  if (input.audioSeconds !== undefined && audioLimits) {
    const audio = await tryAcquireAudio(deps.ledger.sql, {
      buckets: [{ key: audioBucket(input.model), ash: audioLimits.ash, asd: audioLimits.asd }],
      seconds: input.audioSeconds,
      leaseId: input.leaseId,
      now,
    });
    if (!audio.admitted) return { admitted: false, retryAfterMs: audio.retryAfterMs };
  }
  const buckets: BucketRequest[] = [
    { key: teamBucket(team.name), limits: { rpm: team.rpm, tpm: team.tpm, concurrency: team.concurrency } },
  ];
  const tokenLimits = config.groq.limits.get(input.model);
  if (tokenLimits) buckets.push({ key: modelBucket(input.model), limits: { ...tokenLimits } });
  else if (audioLimits) {
    buckets.push({ key: modelBucket(input.model), limits: { rpm: audioLimits.rpm, rpd: audioLimits.rpd } });
  }
  const result = await deps.ledger.tryAcquire({
    buckets,
    tokens: input.tokens,
    now,
    leaseId: input.leaseId,
    leaseTtlMs: LEASE_TTL_MS,
  });
  if (result.admitted) return { admitted: true };
  await releaseAudio(deps.ledger.sql, input.leaseId);
  return { admitted: false, retryAfterMs: result.retryAfterMs };
}
