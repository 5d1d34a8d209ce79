/**
 * Inputs and results of the batch activities. Only ids, numbers and names cross into workflow history:
 * the lines of a batch (prompts) stay in the ledger and are read by the activity that runs them.
 */
export interface BatchRef {
  batchId: string;
}

export type ValidateResult =
  | {
      ok: true;
      total: number;
      team: string;
      gatewayKeyId: string;
      upstreamKey: string;
      mode: 'realtime' | 'groq-batch';
      /** epoch ms when the completion window closes */
      expiresAtMs: number;
      /** for groq-batch: the reservation holding the whole batch's worst case */
      reservationId?: string;
    }
  | { ok: false; code: string };

export interface ItemInput {
  batchId: string;
  seq: number;
  team: string;
  gatewayKeyId: string;
  upstreamKey: string;
  /** upstream attempts per item before it fails (default 4) */
  maxAttempts?: number;
}

/** A chunk of items run by one activity, all at once (the workflow keeps the window) */
export interface ChunkInput extends Omit<ItemInput, 'seq'> {
  seqs: number[];
  /** upstream calls of the chunk in flight at once (default: all of them) */
  concurrency?: number;
}

export type ItemResult =
  /** the item is finished (now or earlier): its state and what it cost */
  | { kind: 'done'; state: 'succeeded' | 'failed'; costNanos: string; fresh: boolean }
  /** no room under the rate limits (or Groq asked to slow down): run it again after `afterMs` */
  | { kind: 'wait'; afterMs: number };

export interface FinishInput {
  batchId: string;
  outcome: 'completed' | 'cancelled' | 'expired' | 'failed';
}

export interface BatchTotals {
  total: number;
  completed: number;
  failed: number;
  spendNanos: string;
}
