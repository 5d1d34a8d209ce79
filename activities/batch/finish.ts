/** The end of a batch: unrun items ended, holds returned, result files attached, final status set. */
import { BatchStore, type BatchStatus } from '../../ledger/batches';
import type { CompletionDeps } from '../completion/deps';
import { releaseBatchHolds } from './run-item';
import type { BatchTotals, FinishInput } from './types';

export async function finishBatch(deps: CompletionDeps, input: FinishInput): Promise<BatchTotals> {
  const store = new BatchStore(deps.ledger.sql);
  const now = () => new Date(deps.now());
  if (input.outcome === 'cancelled' || input.outcome === 'expired') {
    await store.endPending(input.batchId, input.outcome, now());
  }
  await releaseBatchHolds(deps, input.batchId);
  if (input.outcome !== 'failed') {
    await store.setStatus(input.batchId, 'finalizing', now());
    await store.attachResultFiles(input.batchId, now());
  }
  await store.setStatus(input.batchId, input.outcome, now());
  return batchTotals(deps, input.batchId);
}

export async function batchTotals(deps: CompletionDeps, batchId: string): Promise<BatchTotals> {
  const counts = await new BatchStore(deps.ledger.sql).counts(batchId);
  return {
    total: counts.total,
    completed: counts.completed,
    failed: counts.failed,
    spendNanos: counts.spendNanos.toString(),
  };
}

export async function setBatchStatus(
  deps: CompletionDeps,
  input: { batchId: string; status: BatchStatus; paused?: boolean },
): Promise<void> {
  const store = new BatchStore(deps.ledger.sql);
  if (input.paused !== undefined) await store.setPaused(input.batchId, input.paused);
  await store.setStatus(input.batchId, input.status, new Date(deps.now()));
}
