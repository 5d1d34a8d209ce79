/**
 * Messages of the `batchJob` workflow: the `progress` query behind `batches.retrieve` (request counts
 * and spend while it runs), and the control signals (cancel; pause and resume for administrators).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export interface BatchProgress {
  status:
    | 'validating'
    | 'in_progress'
    | 'cancelling'
    | 'finalizing'
    | 'completed'
    | 'failed'
    | 'cancelled'
    | 'expired';
  paused: boolean;
  total: number;
  completed: number;
  failed: number;
  /** exact spend of the finished items so far, integer nano-dollars */
  spendNanos: string;
  /** items running now */
  inFlight: number;
  /** upstream calls in flight at once, when the run was sized by the limits */
  window?: number;
}

export const progressQuery = defineQuery<BatchProgress>('progress');
export const cancelBatchSignal = defineSignal('cancel');
export const pauseBatchSignal = defineSignal<[paused: boolean]>('pause');

export function batchWorkflowId(batchId: string): string {
  return `batch-${batchId}`;
}
