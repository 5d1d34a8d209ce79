/**
 * One item of a realtime batch, through the same governed path as a single request: a budget
 * reservation of the worst case, admission by the shared rate limiter at the batch share (so
 * interactive traffic of the team keeps room), the Groq call with its call claim, usage at exact cost.
 *
 * Idempotent per item: the request id is `batch:<batch id>:<custom_id>` and each attempt's reservation
 * `<request id>#<attempt>`, with the attempt number kept on the item row. A second run of the activity
 * (its worker died, Temporal retried it) looks at the item's current attempt first: finished items
 * answer from the ledger, an attempt whose call was claimed by a dead run stays charged as unknown and a
 * new attempt starts. The item's result is stored as soon as it is known.
 */
import { Context } from '@temporalio/activity';
import { refusalBody } from '../../domain/api-errors';
import { claimedViaEgress } from '../../domain/egress';
import type { ChatRequest } from '../../domain/chat-request';
import { promptTokenBound, promptTokenEstimate } from '../../domain/prompt-tokens';
import { periodOf } from '../../ledger';
import { BatchStore, type ItemOutcome } from '../../ledger/batches';
import { asBigint, asNullableString } from '../../ledger/sql';
import { reservationIdFor, reserveBudget } from '../completion/budget';
import type { CompletionDeps } from '../completion/deps';
import type { AttemptRef, CallInput, CallResult } from '../completion/types';
import { abandonAttempt, resumeCall } from '../completion/upstream-call';
import type { ItemInput, ItemResult } from './types';

export const ITEM_MAX_ATTEMPTS = 4;

export function batchRequestId(batchId: string, customId: string): string {
  return `batch:${batchId}:${customId}`;
}

function backoffMs(attempt: number): number {
  return Math.min(8000, 500 * 2 ** (attempt - 1));
}

/** Heartbeats while `work` runs in a regular activity, so a dead worker's item is retried quickly. */
export async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  let context: Context | undefined;
  try {
    context = Context.current();
  } catch {
    context = undefined;
  }
  // a local activity (how batchJob runs items) has no heartbeat; a regular one heartbeats every second
  const timer = context && !context.info.isLocal ? setInterval(() => context.heartbeat(), 1000) : undefined;
  try {
    return await work();
  } finally {
    if (timer) clearInterval(timer);
  }
}

/**
 * What a call's result makes of an item: finished with an outcome (`release`: its hold is returned
 * first, the request never fits the rate limits), or wait and run again after `afterMs`.
 */
export function itemAfterCall(
  result: CallResult,
  attempt: number,
  maxAttempts: number,
  team: string,
  model: string,
): { kind: 'finish'; outcome: ItemOutcome; release: boolean } | { kind: 'wait'; afterMs: number } {
  const finish = (outcome: ItemOutcome, release = false) => ({ kind: 'finish' as const, outcome, release });
  switch (result.kind) {
    case 'not_admitted':
      if (result.retryAfterMs !== null) return { kind: 'wait', afterMs: Math.max(50, result.retryAfterMs) };
      return finish(
        {
          state: 'failed',
          statusCode: 429,
          upstreamRequestId: null,
          response: refusalBody({
            code: 'rate_limit_exceeded',
            message: `The request is larger than a rate limit of team ${team} or model ${model} allows.`,
          }) as unknown as Record<string, unknown>,
          error: null,
          costNanos: 0n,
        },
        true,
      );
    case 'success':
      return finish({
        state: 'succeeded',
        statusCode: 200,
        upstreamRequestId: result.upstreamRequestId,
        response: result.completion,
        error: null,
        costNanos: BigInt(result.usage.costNanos),
      });
    case 'unknown':
      return { kind: 'wait', afterMs: backoffMs(attempt) };
    case 'upstream_error':
      if (result.retryable && attempt < maxAttempts) {
        return { kind: 'wait', afterMs: result.retryAfterMs ?? backoffMs(attempt) };
      }
      return finish({
        state: 'failed',
        statusCode: result.status,
        upstreamRequestId: null,
        response: result.body as unknown as Record<string, unknown>,
        error: null,
        costNanos: 0n,
      });
  }
}

/** One item, to the end of its current attempt or until it has to wait (callers heartbeat around it). */
export async function runItem(
  deps: CompletionDeps,
  call: (input: CallInput) => Promise<CallResult>,
  input: ItemInput,
): Promise<ItemResult> {
  const store = new BatchStore(deps.ledger.sql);
  // a pending item without an attempt gets its first one counted in the same statement
  const item = await store.openItem(input.batchId, input.seq);
  if (!item) throw new Error(`batch ${input.batchId} has no item ${input.seq}`);
  if (item.state !== 'pending') {
    return {
      kind: 'done',
      state: item.state === 'succeeded' ? 'succeeded' : 'failed',
      costNanos: item.costNanos.toString(),
      fresh: false,
    };
  }
  const config = deps.config();
  const team = config.teams.get(input.team);
  if (!team) throw new Error(`team ${input.team} vanished from the configuration`);
  const requestId = batchRequestId(input.batchId, item.customId);
  const request = item.body as ChatRequest;
  const model = request.model;
  const maxCompletionTokens = request.max_completion_tokens ?? request.max_tokens ?? team.maxTokensPerRequest;
  const now = () => new Date(deps.now());
  const finish = async (outcome: ItemOutcome): Promise<ItemResult> => {
    if (await store.finishItem(input.batchId, input.seq, outcome, now())) {
      const state = outcome.state === 'succeeded' ? 'succeeded' : 'failed';
      return { kind: 'done', state, costNanos: outcome.costNanos.toString(), fresh: true };
    }
    // finished meanwhile by another run: its result stands
    const after = await store.getItem(input.batchId, input.seq);
    return {
      kind: 'done',
      state: after?.state === 'succeeded' ? 'succeeded' : 'failed',
      costNanos: (after?.costNanos ?? 0n).toString(),
      fresh: false,
    };
  };
  const refOf = (attempt: number, period: string): AttemptRef => {
    const id = reservationIdFor(requestId, attempt);
    return {
      requestId,
      attempt,
      reservationId: id,
      leaseId: id,
      team: team.name,
      period,
      model,
      upstreamKey: input.upstreamKey,
      gatewayKeyId: input.gatewayKeyId,
      // realtime items are ordinary chat completions upstream: Groq bills them at the list price
      batch: false,
    };
  };

  const maxAttempts = input.maxAttempts ?? ITEM_MAX_ATTEMPTS;
  /** What a call's result makes of the item: done, or wait and try again. */
  const afterCall = async (result: CallResult, attempt: number, ref: AttemptRef): Promise<ItemResult> => {
    const next = itemAfterCall(result, attempt, maxAttempts, team.name, model);
    if (next.kind === 'wait') return next;
    if (next.release) await deps.ledger.release(ref.reservationId);
    return finish(next.outcome);
  };

  // Where did the current attempt get to? (an attempt just started got nowhere yet)
  let attempt = item.attempts;
  const resumed = !item.started && attempt > 0;
  if (resumed) {
    const reservation = await deps.ledger.getReservation(reservationIdFor(requestId, attempt));
    const claimedBy = reservation ? await deps.ledger.callClaimedBy(reservation.id) : null;
    if (reservation && (claimedBy !== null || reservation.state !== 'held')) {
      const ref = refOf(attempt, reservation.period);
      if (claimedViaEgress(claimedBy) && (reservation.state === 'held' || reservation.state === 'settled')) {
        // its egress outlived the run that died: book (or give again, with its body) the answer it journaled
        const result = await resumeCall(deps, ref, { wait: true });
        if (result.kind === 'success' || result.kind === 'upstream_error')
          return afterCall(result, attempt, ref);
      }
      const usage = await deps.ledger.sql.query(
        `SELECT outcome, cost_nanos, upstream_request_id FROM usage_records WHERE request_id = $1 AND attempt = $2`,
        [requestId, attempt],
      );
      const row = usage.rows[0];
      if (row?.outcome === 'success') {
        // the call was billed and booked, but its run died before storing the answer
        return finish({
          state: 'succeeded',
          statusCode: 200,
          upstreamRequestId: asNullableString(row.upstream_request_id, 'upstream_request_id'),
          response: { note: 'The completion was billed, but its body was lost when its worker died.' },
          error: null,
          costNanos: asBigint(row.cost_nanos, 'cost_nanos'),
        });
      }
      // ended (released after an error) or died mid-call (stays charged as unknown): a new attempt
      const current = await deps.ledger.getReservation(ref.reservationId);
      if (current?.state === 'held') await abandonAttempt(deps, ref);
      attempt = 0;
    }
  }
  if (attempt === 0) attempt = (await store.nextAttempt(input.batchId, input.seq)) ?? 0;
  if (attempt === 0) return runItem(deps, call, input); // finished meanwhile
  if (attempt > maxAttempts) {
    return finish({
      state: 'failed',
      statusCode: null,
      upstreamRequestId: null,
      response: null,
      error: { code: 'attempts_exhausted', message: `The item failed ${maxAttempts} times.` },
      costNanos: 0n,
    });
  }

  const period = periodOf(now(), config.org.timezone);
  const bound = promptTokenBound(request.messages, request.tools);
  const reservation = await reserveBudget(deps, {
    requestId,
    attempt,
    team: team.name,
    period,
    model,
    promptTokenBound: bound,
    maxCompletionTokens,
    batch: false,
  });
  if (!reservation.ok) {
    return finish({
      state: 'failed',
      statusCode: 402,
      upstreamRequestId: null,
      response: refusalBody(reservation.refusal) as unknown as Record<string, unknown>,
      error: null,
      costNanos: 0n,
    });
  }
  // a resumed attempt keeps the period its reservation was made in (waiting across a month boundary)
  const held = resumed ? await deps.ledger.getReservation(reservation.reservationId) : null;
  const ref = refOf(attempt, held?.period ?? period);
  const result = await call({
    ...ref,
    request,
    maxCompletionTokens,
    admission: {
      tokens: promptTokenEstimate(request.messages, request.tools) + maxCompletionTokens,
      interactive: false,
    },
  });
  return afterCall(result, attempt, ref);
}

/**
 * Returns what a batch still holds: reservations of its items that never reached Groq are released; one
 * whose call was claimed by a run that died stays charged as unknown (Groq may have billed it).
 */
export async function releaseBatchHolds(deps: CompletionDeps, batchId: string): Promise<number> {
  const { rows } = await deps.ledger.sql.query(
    `SELECT id, call_claimed_at IS NOT NULL AS claimed FROM budget_reservations
      WHERE request_id LIKE $1 AND state = 'held'`,
    [`${batchRequestId(batchId, '').replace(/[\\%_]/g, (c) => `\\${c}`)}%`],
  );
  let released = 0;
  for (const row of rows) {
    const id = String(row.id);
    await deps.ledger.releaseLease(id, deps.now());
    if (row.claimed === true) await deps.ledger.markUnknown(id);
    else if ((await deps.ledger.release(id)).changed) released++;
  }
  return released;
}
