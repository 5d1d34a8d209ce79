/** Groq's file and batch objects, built from the ledger's rows (see /openai/v1/files and /batches). */
import type { BatchCounts, BatchFile, BatchRow } from '../../ledger/batches';
import { formatUsd } from '../../domain/money';

const seconds = (date: Date | null): number | null => (date ? Math.floor(date.getTime() / 1000) : null);

export function fileObject(file: BatchFile): Record<string, unknown> {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: seconds(file.createdAt),
    filename: file.filename,
    purpose: file.purpose,
  };
}

export interface LiveCounts {
  total: number;
  completed: number;
  failed: number;
  spendNanos: bigint;
  /** the status the running workflow reports (e.g. cancelling), when it is newer than the row's */
  status?: string;
  paused?: boolean;
}

export function batchObject(batch: BatchRow, counts: LiveCounts | BatchCounts): Record<string, unknown> {
  const status = 'status' in counts && counts.status !== undefined ? counts.status : batch.status;
  return {
    id: batch.id,
    object: 'batch',
    endpoint: batch.endpoint,
    errors: batch.errors && batch.errors.length > 0 ? { object: 'list', data: batch.errors } : null,
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status,
    output_file_id: batch.outputFileId,
    error_file_id: batch.errorFileId,
    created_at: seconds(batch.createdAt),
    in_progress_at: seconds(batch.inProgressAt),
    expires_at: seconds(batch.expiresAt),
    finalizing_at: seconds(batch.finalizingAt),
    completed_at: seconds(batch.completedAt),
    failed_at: seconds(batch.failedAt),
    expired_at: seconds(batch.expiredAt),
    cancelling_at: seconds(batch.cancellingAt),
    cancelled_at: seconds(batch.cancelledAt),
    request_counts: { total: counts.total, completed: counts.completed, failed: counts.failed },
    metadata: batch.metadata,
    // not in Groq's object: how the governor runs it and what it has cost so far
    x_governor: {
      mode: batch.mode,
      paused: 'paused' in counts && counts.paused !== undefined ? counts.paused : batch.paused,
      spend_nanos: counts.spendNanos.toString(),
      spend_usd: formatUsd(counts.spendNanos, 2),
    },
  };
}
