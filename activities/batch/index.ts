/** The batch activities, built from the same dependencies as the governed-completion activities. */
import { oncePerAttempt } from '../completion/call-once';
import type { CompletionDeps } from '../completion/deps';
import { callGroq } from '../completion/upstream-call';
import { BatchStore, type BatchStatus } from '../../ledger/batches';
import { batchTotals, finishBatch, setBatchStatus } from './finish';
import {
  cancelGroqBatch,
  collectGroqBatch,
  pollGroqBatch,
  submitGroqBatch,
  type GroqBatchInput,
} from './groq-batch';
import { runItem, withHeartbeat } from './run-item';
import type { BatchRef, ChunkInput, FinishInput, ItemInput, ItemResult } from './types';
import { runChunkTogether } from './chunk-path';
import { planBatchRun, type PlanInput } from './plan';
import { validateBatch } from './validate';

export function createBatchActivities(deps: CompletionDeps) {
  // a second run of one attempt's call in this process gets the first run's result
  const callOnce = oncePerAttempt((input) => callGroq(deps, input));
  // Temporal runs a local activity again when the workflow task that ran it is lost (a busy worker);
  // a second run of an item still running in this process waits for the first instead of taking its
  // claimed call for a dead one
  const running = new Map<string, Promise<ItemResult>>();
  const runItemOnce = (input: ItemInput): Promise<ItemResult> => {
    const key = `${input.batchId}:${input.seq}`;
    const known = running.get(key);
    if (known) return known;
    const result = runItem(deps, callOnce, input).finally(() => running.delete(key));
    running.set(key, result);
    return result;
  };
  return {
    validateBatch: (input: BatchRef) => validateBatch(deps, input),
    runBatchItem: (input: ItemInput) => withHeartbeat(() => runItemOnce(input)),
    // the chunk's ledger work together; its items that leave the chunk's path run on their own
    runBatchItems: (input: ChunkInput) =>
      withHeartbeat(() => runChunkTogether(deps, (item) => runItem(deps, callOnce, item), running, input)),
    pendingBatchItems: (input: { batchId: string; from: number; limit: number }) =>
      new BatchStore(deps.ledger.sql).pendingSeqs(input.batchId, input.from, input.limit),
    planBatchRun: (input: PlanInput) => planBatchRun(deps, input),
    finishBatch: (input: FinishInput) => finishBatch(deps, input),
    batchTotals: (input: BatchRef) => batchTotals(deps, input.batchId),
    submitGroqBatch: (input: GroqBatchInput) => submitGroqBatch(deps, input),
    pollGroqBatch: (input: GroqBatchInput & { upstreamBatchId: string }) => pollGroqBatch(deps, input),
    cancelGroqBatch: (input: GroqBatchInput & { upstreamBatchId: string }) => cancelGroqBatch(deps, input),
    collectGroqBatch: (input: GroqBatchInput & { upstreamBatchId: string }) => collectGroqBatch(deps, input),
    setBatchStatus: (input: { batchId: string; status: BatchStatus; paused?: boolean }) =>
      setBatchStatus(deps, input),
  };
}

export type BatchActivities = ReturnType<typeof createBatchActivities>;
