/**
 * Run one non-streamed chat completion as a `governedCompletion` workflow and learn its answer. Where the
 * gateway shares a process with the worker and the workflow started eagerly on it (the embedded stack),
 * the step that settles the workflow's result (the authorize step's refusal, the call step's booked
 * completion or final error) hands the answer over in-process as soon as its effects are in the ledger:
 * the caller does not wait for the workflow task to complete and for the result's long poll. The
 * workflow then completes as usual. A workflow none of whose steps announces an answer (it waited for
 * the rate limits and gave up, its attempts ended without an answer, it failed) is asked for its result.
 */
import type { CompletionAnswer } from '../../activities/completion/types';
import { completionWorkflowId } from '../../domain/request-ids';
import type { GovernedCompletionInput, GovernedCompletionResult } from '../../workflows/governed-completion';
import { GOVERNED_COMPLETION_TYPE } from '../../workflows/governed-completion-messages';
import type { GatewayDeps } from './deps';

/** How long a request may go without an in-process answer before the gateway also polls the result. */
const RESULT_POLL_AFTER_MS = 2_000;
/** The longest a gateway listens for an in-process answer (the result's poll answers meanwhile). */
const ANSWER_WAIT_MS = 15 * 60_000;

function answerOf(result: GovernedCompletionResult): CompletionAnswer {
  if (result.ok)
    return { ok: true, completion: result.completion, upstreamRequestId: result.upstreamRequestId };
  return {
    ok: false,
    status: result.status,
    error: result.error,
    ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}),
  };
}

export async function runCompletion(
  deps: GatewayDeps,
  requestId: string,
  input: GovernedCompletionInput,
): Promise<CompletionAnswer> {
  const options = { taskQueue: deps.taskQueue, workflowId: completionWorkflowId(requestId), args: [input] };
  const board = deps.handoffs?.answers;
  if (!deps.eagerStart || !board) {
    const result: GovernedCompletionResult = await deps.temporal.workflow.execute(GOVERNED_COMPLETION_TYPE, {
      ...options,
      ...(deps.eagerStart ? { requestEagerStart: true } : {}),
    });
    return answerOf(result);
  }
  const announced = board.expect(requestId, ANSWER_WAIT_MS);
  let timer: NodeJS.Timeout | undefined;
  try {
    const handle = await deps.temporal.workflow.start(GOVERNED_COMPLETION_TYPE, {
      ...options,
      requestEagerStart: true,
    });
    let polled: Promise<CompletionAnswer> | undefined;
    const poll = () =>
      (polled ??= handle.result().then((result: GovernedCompletionResult) => answerOf(result)));
    // started elsewhere: its steps announce nothing here
    if (!handle.eagerlyStarted) return await poll();
    const pollLater = new Promise<CompletionAnswer>((resolve, reject) => {
      timer = setTimeout(() => {
        poll().then(resolve, reject);
      }, RESULT_POLL_AFTER_MS);
    });
    return await Promise.race([announced.value.then((answer) => answer ?? poll()), pollLater]);
  } finally {
    clearTimeout(timer);
    announced.cancel();
  }
}
