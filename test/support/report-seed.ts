/**
 * Known traffic for the weekly report tests: week 2026-W47 in Europe/Berlin (Mon 16 Nov 00:00 CET =
 * 2026-11-15T23:00Z to 2026-11-22T23:00Z), three teams (gamma has no traffic), two models, a batch
 * item, a retried request that changed upstream key version between attempts, rows on both edges of
 * the week, the week before, earlier in the month, the month before, and refusals of every kind.
 * Seeded through the ledger API the completion path uses (recordUsage, recordRefusal).
 */
import { parseConfig, type GovernorConfig } from '../../domain/config';
import type { LedgerStore } from '../../ledger';

export const REPORT_WEEK = '2026-W47';

export function reportConfigText(options: { directory?: string; webhooks?: string[] } = {}): string {
  const reports = [
    options.directory ? `  directory: ${JSON.stringify(options.directory)}` : '',
    options.webhooks?.length
      ? `  webhooks: [${options.webhooks.map((w) => JSON.stringify(w)).join(', ')}]`
      : '',
  ].filter(Boolean);
  return `
org:
  name: Acme Test
  monthlyCapUsd: '1'
  timezone: Europe/Berlin
pricing:
  models:
    llama-3.1-8b-instant: { input: '0.05', output: '0.08' }
    llama-3.3-70b-versatile: { input: '0.59', output: '0.79' }
upstreamKeys:
  - name: alpha-test-gateway
  - name: beta-test-gateway
  - name: gamma-test-gateway
teams:
  alpha:
    allowedModels: [llama-3.1-8b-instant, llama-3.3-70b-versatile]
    maxTokensPerRequest: 1024
    monthlyBudgetUsd: '0.01'
    rpm: 100
    tpm: 100000
    concurrency: 4
    upstreamKey: alpha-test-gateway
    batch: { maxConcurrency: 2 }
  beta:
    allowedModels: [llama-3.1-8b-instant, llama-3.3-70b-versatile]
    maxTokensPerRequest: 1024
    monthlyBudgetUsd: '0.001'
    rpm: 100
    tpm: 100000
    concurrency: 4
    upstreamKey: beta-test-gateway
    batch: { maxConcurrency: 2 }
  gamma:
    allowedModels: [llama-3.1-8b-instant]
    maxTokensPerRequest: 512
    monthlyBudgetUsd: '2'
    rpm: 100
    tpm: 100000
    concurrency: 4
    upstreamKey: gamma-test-gateway
${reports.length ? `reports:\n${reports.join('\n')}\n` : ''}`;
}

export function reportConfig(options: { directory?: string; webhooks?: string[] } = {}): GovernorConfig {
  const parsed = parseConfig(reportConfigText(options), 'report test config');
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return parsed.config;
}

const SMALL = 'llama-3.1-8b-instant';
const LARGE = 'llama-3.3-70b-versatile';

interface Row {
  id: string;
  attempt?: number;
  team: string | null;
  model: string;
  key: string;
  version: number;
  at: string;
  period?: string;
  prompt: number;
  completion: number;
  cached?: number;
  cost: bigint;
  batch?: boolean;
  outcome?: 'success' | 'error';
}

export const SEED_USAGE: Row[] = [
  // alpha, in the week
  {
    id: 'a1',
    team: 'alpha',
    model: SMALL,
    key: 'alpha-test-gateway',
    version: 1,
    at: '2026-11-16T10:00:00Z',
    prompt: 1000,
    completion: 200,
    cached: 100,
    cost: 70_000n,
  },
  {
    id: 'a-first-minute',
    team: 'alpha',
    model: SMALL,
    key: 'alpha-test-gateway',
    version: 1,
    at: '2026-11-15T23:30:00Z',
    prompt: 1,
    completion: 1,
    cost: 11n,
  },
  {
    id: 'a2',
    attempt: 0,
    team: 'alpha',
    model: SMALL,
    key: 'alpha-test-gateway',
    version: 1,
    at: '2026-11-17T09:00:00Z',
    prompt: 0,
    completion: 0,
    cost: 0n,
    outcome: 'error',
  },
  {
    id: 'a2',
    attempt: 1,
    team: 'alpha',
    model: SMALL,
    key: 'alpha-test-gateway',
    version: 2,
    at: '2026-11-17T09:00:05Z',
    prompt: 800,
    completion: 100,
    cost: 50_000n,
  },
  {
    id: 'a3-batch',
    team: 'alpha',
    model: LARGE,
    key: 'alpha-test-gateway',
    version: 2,
    at: '2026-11-18T12:00:00Z',
    prompt: 1000,
    completion: 500,
    cost: 1_000_000n,
    batch: true,
  },
  {
    id: 'a-last-second',
    team: 'alpha',
    model: SMALL,
    key: 'alpha-test-gateway',
    version: 2,
    at: '2026-11-22T22:59:59Z',
    prompt: 10,
    completion: 1,
    cost: 5n,
  },
  // alpha, outside the week
  {
    id: 'a-next-week',
    team: 'alpha',
    model: SMALL,
    key: 'alpha-test-gateway',
    version: 2,
    at: '2026-11-22T23:00:00Z',
    prompt: 10,
    completion: 1,
    cost: 999n,
  },
  {
    id: 'a-early-month',
    team: 'alpha',
    model: LARGE,
    key: 'alpha-test-gateway',
    version: 1,
    at: '2026-11-03T12:00:00Z',
    prompt: 5000,
    completion: 1000,
    cost: 2_000_000n,
  },
  {
    id: 'a-prev-week',
    team: 'alpha',
    model: SMALL,
    key: 'alpha-test-gateway',
    version: 1,
    at: '2026-11-10T12:00:00Z',
    prompt: 100,
    completion: 100,
    cost: 300_000n,
  },
  {
    id: 'a-prev-last-second',
    team: 'alpha',
    model: SMALL,
    key: 'alpha-test-gateway',
    version: 1,
    at: '2026-11-15T22:59:59Z',
    prompt: 1,
    completion: 1,
    cost: 7n,
  },
  // beta, in the week
  {
    id: 'b1-batch',
    team: 'beta',
    model: LARGE,
    key: 'beta-test-gateway',
    version: 1,
    at: '2026-11-19T08:00:00Z',
    prompt: 300,
    completion: 200,
    cost: 400_000n,
    batch: true,
  },
  {
    id: 'b2',
    team: 'beta',
    model: SMALL,
    key: 'beta-test-gateway',
    version: 1,
    at: '2026-11-19T09:00:00Z',
    prompt: 2000,
    completion: 100,
    cached: 500,
    cost: 100_000n,
  },
  {
    id: 'b3',
    team: 'beta',
    model: SMALL,
    key: 'beta-test-gateway',
    version: 1,
    at: '2026-11-20T09:00:00Z',
    prompt: 2000,
    completion: 100,
    cost: 100_000n,
  },
  // beta, the month before
  {
    id: 'b-october',
    team: 'beta',
    model: SMALL,
    key: 'beta-test-gateway',
    version: 1,
    at: '2026-10-30T09:00:00Z',
    period: '2026-10',
    prompt: 1,
    completion: 1,
    cost: 123n,
  },
];

export const SEED_REFUSALS: { id: string; team: string | null; reason: string; at: string }[] = [
  { id: 'r1', team: 'alpha', reason: 'model_not_allowed', at: '2026-11-16T08:00:00Z' },
  { id: 'r2', team: 'alpha', reason: 'model_not_allowed', at: '2026-11-16T08:01:00Z' },
  { id: 'r3', team: 'alpha', reason: 'max_tokens_exceeded', at: '2026-11-17T08:00:00Z' },
  { id: 'r4', team: 'alpha', reason: 'budget_exceeded', at: '2026-11-18T08:00:00Z' },
  { id: 'r5', team: 'alpha', reason: 'rate_limit_exceeded', at: '2026-11-18T08:00:01Z' },
  { id: 'r6', team: 'alpha', reason: 'rate_limit_exceeded', at: '2026-11-18T08:00:02Z' },
  { id: 'r7', team: 'alpha', reason: 'rate_limit_exceeded', at: '2026-11-18T08:00:03Z' },
  { id: 'r8', team: 'beta', reason: 'budget_exceeded', at: '2026-11-19T10:00:00Z' },
  { id: 'r9', team: 'beta', reason: 'team_paused', at: '2026-11-19T10:00:01Z' },
  { id: 'r10', team: 'beta', reason: 'permission_denied', at: '2026-11-19T10:00:02Z' },
  { id: 'r11', team: null, reason: 'invalid_api_key', at: '2026-11-20T10:00:00Z' },
  { id: 'r12', team: null, reason: 'invalid_api_key', at: '2026-11-21T10:00:00Z' },
  { id: 'r-prev', team: 'alpha', reason: 'rate_limit_exceeded', at: '2026-11-15T22:00:00Z' },
];

export async function seedReportLedger(ledger: LedgerStore): Promise<void> {
  for (const row of SEED_USAGE) {
    await ledger.recordUsage({
      requestId: row.id,
      attempt: row.attempt ?? 0,
      period: row.period ?? '2026-11',
      team: row.team,
      model: row.model,
      keyName: row.key,
      keyVersion: row.version,
      promptTokens: row.prompt,
      completionTokens: row.completion,
      cachedTokens: row.cached ?? 0,
      costNanos: row.cost,
      batch: row.batch ?? false,
      outcome: row.outcome ?? 'success',
      httpStatus: row.outcome === 'error' ? 500 : 200,
      startedAt: new Date(row.at),
      finishedAt: new Date(row.at),
    });
  }
  for (const refusal of SEED_REFUSALS) {
    await ledger.recordRefusal({
      requestId: refusal.id,
      period: '2026-11',
      team: refusal.team,
      reason: refusal.reason,
      at: new Date(refusal.at),
    });
  }
}
