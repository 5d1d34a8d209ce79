/**
 * What the completion steps hand to a gateway waiting in the same process (domain/handoff-board.ts):
 * a streamed request's admission, and a non-streamed request's answer once the workflow's result is
 * settled by a step (a refusal by the authorize step; a booked completion, or an error the workflow will
 * not retry, from the call step). Each answer is the one the workflow itself returns for that step result.
 */
import { refusalBody, refusalStatus, type Refusal } from '../../domain/api-errors';
import { HandoffBoard } from '../../domain/handoff-board';
import type { CallResult, CompletionAnswer, CompletionHandoffs } from './types';

/** A new pair of boards, shared by a worker and the gateway of one process. */
export function completionHandoffs(): CompletionHandoffs {
  return { admissions: new HandoffBoard(), answers: new HandoffBoard() };
}

/** The answer to a request refused by policy, budget or the rate limits (the workflow's `refused`). */
export function refusalAnswer(refusal: Refusal): Extract<CompletionAnswer, { ok: false }> {
  return {
    ok: false,
    status: refusalStatus(refusal.code),
    error: refusalBody(refusal),
    ...(refusal.retryAfterSeconds !== undefined ? { retryAfterSeconds: refusal.retryAfterSeconds } : {}),
  };
}

/**
 * The answer a call step's result settles, or undefined when the workflow goes on (another attempt, a
 * wait for the rate limits, an outcome to reconcile).
 */
export function callAnswer(result: CallResult): CompletionAnswer | undefined {
  if (result.kind === 'success')
    return { ok: true, completion: result.completion, upstreamRequestId: result.upstreamRequestId };
  if (result.kind === 'upstream_error' && !result.retryable)
    return { ok: false, status: result.status, error: result.body };
  return undefined;
}
