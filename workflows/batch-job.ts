/**
 * `batchJob`: one workflow per batch. It validates the batch (nothing is spent before that passes),
 * then runs its items in realtime mode: a sliding window of at most `window` items in flight, each an
 * activity through the governed path (reservation, shared rate limits at the batch share, usage),
 * waiting durably (timers) when the limits are full. Every run starts at most `itemsPerRun` items and
 * then continues as new with its counts, so a run's history stays bounded whatever the batch's size.
 * The lines themselves never enter history: activities read them from the ledger by item number.
 * Items go to the workers in chunks (one activity runs several at once, each governed and idempotent
 * on its own, their ledger work done a chunk at a time), so an item costs a fraction of a workflow task
 * and of the history events; runs recorded before chunks (without the `batch-item-chunks` marker)
 * replay with one activity per item. Runs with the `batch-sized-chunks` marker are sized by
 * `planBatchRun` (window, chunks in flight, chunk size, items per run; docs/batches.md).
 */
import { condition, continueAsNew, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { BatchActivities } from '../activities/batch';
import type { ItemResult, ValidateResult } from '../activities/batch/types';
import { cancelBatchSignal, pauseBatchSignal, progressQuery, type BatchProgress } from './batch-job-messages';

export interface BatchJobInput {
  batchId: string;
  /**
   * upstream calls in flight at once; unset, sized from the limits (runs before the sizing patch: items
   * in flight, default 16)
   */
  window?: number;
  /** items a run starts before it continues as new; unset, sized (before the sizing patch: 500) */
  itemsPerRun?: number;
  /** carried from the previous run */
  state?: BatchRunState;
}

export interface BatchRunState {
  team: string;
  gatewayKeyId: string;
  upstreamKey: string;
  mode: 'realtime' | 'groq-batch';
  expiresAtMs: number;
  total: number;
  completed: number;
  failed: number;
  spendNanos: string;
  /** the first item number not yet looked at */
  cursor: number;
  cancelRequested: boolean;
  paused: boolean;
  runs: number;
  /** groq-batch mode: the upstream batch, and whether its cancel was sent */
  upstreamBatchId?: string;
  cancelSent?: boolean;
}

export interface BatchJobResult {
  status: 'completed' | 'failed' | 'cancelled' | 'expired';
  total: number;
  completed: number;
  failed: number;
  spendNanos: string;
  runs: number;
}

const steps = proxyActivities<BatchActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds' },
});

// Items are regular activities, spread over every worker and heartbeating while they run, so the
// items of a worker that died run again within seconds.
const items = proxyActivities<BatchActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds' },
});

// Chunks of items: a chunk is one activity for the whole chunk, so it heartbeats like an item and has
// the time of its slowest item (each waiting its turn on the ledger when the workers are busy).
const chunks = proxyActivities<BatchActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '10 seconds' },
});

const MAX_CHUNK = 32;
/** items per chunk: a quarter of the window, so a window has a few chunks in flight and stays full */
export function chunkSizeFor(window: number): number {
  return Math.max(1, Math.min(MAX_CHUNK, Math.ceil(window / 4)));
}
const CHUNKS_PATCH = 'batch-item-chunks';
/** runs sized by the limits (planBatchRun), their chunks with a share of the window's calls each */
const SIZED_PATCH = 'batch-sized-chunks';

const PAGE = 200;
const UPSTREAM_FINAL = ['completed', 'failed', 'expired', 'cancelled'];
/** polls of the upstream batch one run makes before it continues as new */
const POLLS_PER_RUN = 400;

/** Mode groq-batch: submit once, poll with durable timers (1 s growing to 30 s), collect, finish. */
async function groqBatch(
  input: BatchJobInput,
  run: BatchRunState,
  control: { cancelRequested: () => boolean; setStatus: (status: BatchProgress['status']) => void },
): Promise<BatchJobResult> {
  const ref = { batchId: input.batchId, team: run.team, upstreamKey: run.upstreamKey };
  if (!run.upstreamBatchId) {
    if (control.cancelRequested()) {
      // cancelled before anything went upstream
      const totals = await steps.finishBatch({ batchId: input.batchId, outcome: 'cancelled' });
      control.setStatus('cancelled');
      return { status: 'cancelled', ...totals, runs: run.runs };
    }
    const submitted = await steps.submitGroqBatch(ref);
    if (!submitted.ok) {
      control.setStatus('failed');
      return { status: 'failed', total: run.total, completed: 0, failed: 0, spendNanos: '0', runs: run.runs };
    }
    run.upstreamBatchId = submitted.upstreamBatchId;
  }
  const upstream = { ...ref, upstreamBatchId: run.upstreamBatchId };
  let upstreamStatus = '';
  for (let polls = 0; ; polls++) {
    if (control.cancelRequested() && !run.cancelSent) {
      await steps.cancelGroqBatch(upstream);
      run.cancelSent = true;
    }
    const progress = await steps.pollGroqBatch(upstream);
    run.completed = progress.completed;
    run.failed = progress.failed;
    upstreamStatus = progress.status;
    if (UPSTREAM_FINAL.includes(upstreamStatus)) break;
    if (polls >= POLLS_PER_RUN) {
      return continueAsNew<typeof batchJob>({
        ...input,
        state: { ...run, cancelRequested: control.cancelRequested(), runs: run.runs + 1 },
      });
    }
    await condition(
      () => control.cancelRequested() && !run.cancelSent,
      Math.min(30_000, Math.round(1000 * 1.5 ** Math.min(polls, 10))),
    );
  }
  control.setStatus('finalizing');
  await steps.collectGroqBatch(upstream);
  const outcome = upstreamStatus as BatchJobResult['status'];
  const totals = await steps.finishBatch({ batchId: input.batchId, outcome });
  control.setStatus(outcome);
  return { status: outcome, ...totals, runs: run.runs };
}

export async function batchJob(input: BatchJobInput): Promise<BatchJobResult> {
  let state = input.state;
  let status: BatchProgress['status'] = state ? 'in_progress' : 'validating';
  let cancelRequested = state?.cancelRequested ?? false;
  let paused = state?.paused ?? false;
  let inFlight = 0;
  /** upstream calls in flight at once, when the run was sized by the limits */
  let callWindow: number | undefined = undefined;

  setHandler(cancelBatchSignal, () => {
    cancelRequested = true;
  });
  setHandler(pauseBatchSignal, (value) => {
    paused = value;
  });
  setHandler(progressQuery, () => ({
    status: cancelRequested && status === 'in_progress' ? 'cancelling' : status,
    paused,
    total: state?.total ?? 0,
    completed: state?.completed ?? 0,
    failed: state?.failed ?? 0,
    spendNanos: state?.spendNanos ?? '0',
    inFlight,
    ...(callWindow !== undefined ? { window: callWindow } : {}),
  }));

  if (!state) {
    const validated: ValidateResult = await steps.validateBatch({ batchId: input.batchId });
    if (!validated.ok) {
      status = 'failed';
      return { status, total: 0, completed: 0, failed: 0, spendNanos: '0', runs: 1 };
    }
    state = {
      team: validated.team,
      gatewayKeyId: validated.gatewayKeyId,
      upstreamKey: validated.upstreamKey,
      mode: validated.mode,
      expiresAtMs: validated.expiresAtMs,
      total: validated.total,
      completed: 0,
      failed: 0,
      spendNanos: '0',
      cursor: 0,
      cancelRequested,
      paused,
      runs: 1,
    };
    status = 'in_progress';
  }
  const run = state;
  if (run.mode === 'groq-batch') {
    return groqBatch(input, run, {
      cancelRequested: () => cancelRequested,
      setStatus: (value) => (status = value),
    });
  }

  const expired = () => Date.now() >= run.expiresAtMs;
  const stopping = () => cancelRequested || expired();
  const item = {
    batchId: input.batchId,
    team: run.team,
    gatewayKeyId: run.gatewayKeyId,
    upstreamKey: run.upstreamKey,
  };

  // Sized runs: window, chunks and items per run from the limits, the latency and the history budget
  // (planBatchRun); each chunk runs its items with its share of the window's calls in flight.
  const sized = patched(SIZED_PATCH);
  const plan = sized
    ? await steps.planBatchRun({
        batchId: input.batchId,
        team: run.team,
        cursor: run.cursor,
        ...(input.window !== undefined ? { window: input.window } : {}),
        ...(input.itemsPerRun !== undefined ? { itemsPerRun: input.itemsPerRun } : {}),
      })
    : undefined;
  callWindow = plan?.window;
  /** items in flight at once: a sized run keeps its chunks in flight full */
  const window = plan ? plan.chunksInFlight * plan.chunkSize : (input.window ?? 16);
  const itemsPerRun = plan ? plan.itemsPerRun : (input.itemsPerRun ?? 500);
  const pageSize = plan ? plan.page : PAGE;

  // Chunks: an item that is ready to run joins a queue; whatever the queue holds when the workflow's
  // other code has settled goes out as chunks of at most `chunkSize` items. A sized run sends full
  // chunks, and a partial one only when it asks (`flushWanted`: no room left, a page to read, the
  // run's end, an item back from waiting).
  const chunked = patched(CHUNKS_PATCH);
  const chunkSize = plan ? plan.chunkSize : chunkSizeFor(window);
  const queued: { seq: number; resolve: (result: ItemResult) => void; reject: (error: unknown) => void }[] =
    [];
  let flushWanted = false;
  const dispatch = async (): Promise<void> => {
    for (;;) {
      await condition(() =>
        plan ? queued.length >= chunkSize || (flushWanted && queued.length > 0) : queued.length > 0,
      );
      const chunk = queued.splice(0, chunkSize);
      if (queued.length === 0) flushWanted = false;
      const seqs = chunk.map((entry) => entry.seq);
      void chunks.runBatchItems({ ...item, seqs, ...(plan ? { concurrency: plan.concurrency } : {}) }).then(
        (results) => chunk.forEach((entry, n) => entry.resolve(results[n]!)),
        (error: unknown) => chunk.forEach((entry) => entry.reject(error)),
      );
    }
  };
  if (chunked) void dispatch();
  const runOnce = (seq: number, again = false): Promise<ItemResult> => {
    if (!chunked) return items.runBatchItem({ ...item, seq });
    if (again) flushWanted = true;
    return new Promise((resolve, reject) => queued.push({ seq, resolve, reject }));
  };

  const record = (result: Extract<ItemResult, { kind: 'done' }>) => {
    if (result.state === 'succeeded') run.completed++;
    else run.failed++;
    run.spendNanos = (BigInt(run.spendNanos) + BigInt(result.costNanos)).toString();
  };

  /** One item until it is finished, or until the batch stops taking new work (it stays pending). */
  const runItem = async (seq: number): Promise<void> => {
    try {
      for (let again = false; ; again = true) {
        const result = await runOnce(seq, again);
        if (result.kind === 'done') {
          record(result);
          return;
        }
        // wait durably (a timer), but wake at once when the batch is cancelled
        if (await condition(stopping, result.afterMs)) return;
        if (paused) await condition(() => !paused || stopping());
        if (stopping()) return;
      }
    } finally {
      inFlight--;
    }
  };

  let startedThisRun = 0;
  let exhausted = false;
  while (!exhausted && startedThisRun < itemsPerRun) {
    if (stopping()) break;
    if (paused) {
      await condition(() => !paused || cancelRequested, Math.max(1, run.expiresAtMs - Date.now()));
      continue;
    }
    flushWanted = true;
    const page = await steps.pendingBatchItems({
      batchId: input.batchId,
      from: run.cursor,
      limit: Math.min(pageSize, itemsPerRun - startedThisRun),
    });
    flushWanted = false;
    if (page.length === 0) {
      exhausted = true;
      break;
    }
    for (const seq of page) {
      if (!(inFlight < window)) flushWanted = true;
      const room = await condition(
        () => (inFlight < window && !paused) || stopping(),
        Math.max(1, run.expiresAtMs - Date.now()),
      );
      flushWanted = false;
      if (!room || stopping() || paused) break;
      inFlight++;
      startedThisRun++;
      run.cursor = seq + 1;
      void runItem(seq);
    }
  }
  // let the items in flight finish (an expired batch lets them finish too)
  flushWanted = true;
  await condition(() => inFlight === 0);

  if (!exhausted && !stopping()) {
    // bounded history: the next run picks up at the cursor with the counts so far
    return continueAsNew<typeof batchJob>({
      ...input,
      state: { ...run, cancelRequested, paused, runs: run.runs + 1 },
    });
  }
  // a batch cancelled or expired ends with what finished; items never started stay unbilled
  const outcome = cancelRequested ? 'cancelled' : expired() && !exhausted ? 'expired' : 'completed';
  status = 'finalizing';
  const totals = await steps.finishBatch({ batchId: input.batchId, outcome });
  status = outcome;
  return {
    status: outcome,
    total: totals.total,
    completed: totals.completed,
    failed: totals.failed,
    spendNanos: totals.spendNanos,
    runs: run.runs,
  };
}
