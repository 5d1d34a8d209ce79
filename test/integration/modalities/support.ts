/** The configuration and helpers of the modality tests: teams with audio, speech and chat models. */
import { testConfig } from '../../support/test-config';
import type { LedgerStore } from '../../../ledger';

export const WHISPER = 'whisper-large-v3-turbo';
/** a second Whisper model with a small audio-seconds-per-hour limit, for the 429 test */
export const WHISPER_LIMITED = 'whisper-large-v3';
export const TTS = 'canopylabs/orpheus-v1-english';
export const CHAT = 'llama-3.1-8b-instant';

export const MODALITY_CONFIG = `
org:
  name: Test Org
  monthlyCapUsd: '100'
  timezone: UTC
groq:
  limits:
    llama-3.1-8b-instant: { rpm: 100000, rpd: 10000000, tpm: 100000000, tpd: 1000000000 }
  audioLimits:
    whisper-large-v3-turbo: { rpm: 100000, rpd: 10000000, ash: 10000000, asd: 100000000 }
    whisper-large-v3: { rpm: 100000, rpd: 10000000, ash: 60, asd: 1000 }
pricing:
  models:
    llama-3.1-8b-instant: { input: '0.05', output: '0.08' }
  audio:
    whisper-large-v3-turbo: { perHour: '0.04', minimumSeconds: 10 }
    whisper-large-v3: { perHour: '0.111', minimumSeconds: 10 }
  speech:
    canopylabs/orpheus-v1-english: { perMillionCharacters: '22' }
upstreamKeys:
  - name: voice-test-gateway
  - name: text-test-gateway
  - name: tiny-test-gateway
  - name: race-test-gateway
teams:
  voice:
    allowedModels: [whisper-large-v3-turbo, whisper-large-v3, canopylabs/orpheus-v1-english, llama-3.1-8b-instant]
    maxTokensPerRequest: 256
    monthlyBudgetUsd: '10'
    rpm: 100000
    tpm: 100000000
    concurrency: 500
    upstreamKey: voice-test-gateway
  text:
    allowedModels: [llama-3.1-8b-instant]
    maxTokensPerRequest: 256
    monthlyBudgetUsd: '10'
    rpm: 100000
    tpm: 100000000
    concurrency: 500
    upstreamKey: text-test-gateway
  tiny:
    allowedModels: [whisper-large-v3-turbo, canopylabs/orpheus-v1-english, llama-3.1-8b-instant]
    maxTokensPerRequest: 256
    monthlyBudgetUsd: '0.0001'
    rpm: 100000
    tpm: 100000000
    concurrency: 500
    upstreamKey: tiny-test-gateway
  race:
    allowedModels: [whisper-large-v3-turbo]
    maxTokensPerRequest: 256
    monthlyBudgetUsd: '0.0005'
    rpm: 100000
    tpm: 100000000
    concurrency: 500
    upstreamKey: race-test-gateway
gateway:
  maxWaitMs: 2000
`;

export function modalityConfig() {
  return testConfig(MODALITY_CONFIG);
}

export interface UsageRow {
  request_id: string;
  team: string;
  model: string;
  endpoint: string;
  unit: string;
  quantity: string;
  cost_nanos: string;
  outcome: string;
  upstream_request_id: string | null;
}

export async function usageRows(ledger: LedgerStore): Promise<UsageRow[]> {
  const { rows } = await ledger.sql.query(
    `SELECT request_id, team, model, endpoint, unit, quantity::text AS quantity, cost_nanos::text AS cost_nanos,
            outcome, upstream_request_id FROM usage_records ORDER BY recorded_at, request_id`,
  );
  return rows as unknown as UsageRow[];
}

/** ceil(perHour nanos * seconds / 3600) */
export function audioNanos(perHourNanos: bigint, seconds: number): bigint {
  return (perHourNanos * BigInt(seconds) + 3599n) / 3600n;
}
