/**
 * The sizing of a realtime batch run (`domain/batch-sizing.ts`) from what the run will meet: the batch
 * share of the team's and the model's rate limits, the tokens an item is counted for, and the upstream
 * latency the batch's last items saw (DEFAULT_LATENCY_MS before any item finished). A window or items
 * per run the deployment configured win.
 */
import type { ChatRequest } from '../../domain/chat-request';
import { sizeBatchRun, type BatchSizing } from '../../domain/batch-sizing';
import { promptTokenEstimate } from '../../domain/prompt-tokens';
import { runSizingFacts } from '../../ledger/batch-chunk-items';
import { capacityBuckets } from '../completion/capacity';
import type { CompletionDeps } from '../completion/deps';

/** The latency assumed before a batch has any: about a short completion's at Groq. */
export const DEFAULT_LATENCY_MS = 200;

export interface PlanInput {
  batchId: string;
  team: string;
  /** the first item number the run will look at */
  cursor: number;
  window?: number;
  itemsPerRun?: number;
}

export type BatchPlan = BatchSizing & { latencyMs: number };

export async function planBatchRun(deps: CompletionDeps, input: PlanInput): Promise<BatchPlan> {
  const config = deps.config();
  const team = config.teams.get(input.team);
  if (!team) throw new Error(`team ${input.team} vanished from the configuration`);
  const facts = await runSizingFacts(deps.ledger.sql, input.batchId, input.cursor);
  const request = facts.body as unknown as ChatRequest | null;
  const latencyMs = Math.max(1, Math.round(facts.latencyMs ?? DEFAULT_LATENCY_MS));
  const buckets = request?.model ? capacityBuckets(config, team.name, request.model, false) : [];
  const tokensPerItem = request
    ? promptTokenEstimate(request.messages, request.tools) +
      (request.max_completion_tokens ?? request.max_tokens ?? team.maxTokensPerRequest)
    : 1;
  const sizing = sizeBatchRun(
    { buckets: buckets.map((bucket) => bucket.limits), tokensPerItem, latencyMs },
    {
      ...(input.window !== undefined ? { window: input.window } : {}),
      ...(input.itemsPerRun !== undefined ? { itemsPerRun: input.itemsPerRun } : {}),
    },
  );
  return { ...sizing, latencyMs };
}
