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
import { runBatchItem } from './run-item';
import type { BatchRef, FinishInput, ItemInput } from './types';
import { validateBatch } from './validate';

export function createBatchActivities(deps: CompletionDeps) {
  // a second run of one attempt's call in this process gets the first run's result
  const callOnce = oncePerAttempt((input) => callGroq(deps, input));
  return {
    validateBatch: (input: BatchRef) => validateBatch(deps, input),
    runBatchItem: (input: ItemInput) => runBatchItem(deps, callOnce, input),
    pendingBatchItems: (input: { batchId: string; from: number; limit: number }) =>
      new BatchStore(deps.ledger.sql).pendingSeqs(input.batchId, input.from, input.limit),
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
