/**
 * Streamed chat completions. The workflow decides (policy, reservation, rate limits) and the gateway
 * streams: tokens go from Groq straight to the caller and never through workflow history. The gateway
 * claims the reservation before calling (or the authorize step claimed it for this gateway, when it
 * hands the admission over in-process), so a gateway that dies mid-stream leaves an attempt of
 * unknown outcome that stays charged. When the caller goes away, the gateway still reads Groq's stream
 * to its end, so the usage Groq bills arrives and is booked exactly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WithStartWorkflowOperation, type WorkflowHandle } from '@temporalio/client';
import { APIConnectionError, APIError } from 'groq-sdk';
import { completionWorkflowId } from '../../domain/request-ids';
import type { GovernedCompletionInput, GovernedCompletionResult } from '../../workflows/governed-completion';
import {
  GOVERNED_COMPLETION_TYPE,
  admissionUpdate,
  streamFinishedSignal,
  type StreamAdmission,
  type StreamOutcome,
} from '../../workflows/governed-completion-messages';
import { sendError } from './http';
import type { GatewayDeps, RequestContext } from './deps';

export type { StreamingDeps } from './deps';

/** How long a gateway waits for an eagerly started workflow's authorize step before it asks the workflow. */
const ANNOUNCED_ADMISSION_WAIT_MS = 10_000;

/**
 * The admission from the workflow's `admission` update. A workflow that refused the request has completed
 * by the time an update (sent after its start, not with it) reaches it: its result holds the refusal.
 */
async function askWorkflow(handle: WorkflowHandle): Promise<StreamAdmission> {
  try {
    return await handle.executeUpdate(admissionUpdate);
  } catch (error) {
    if ((await handle.describe()).status.name !== 'COMPLETED') throw error;
    const result = (await handle.result()) as GovernedCompletionResult;
    if (result.ok) throw error;
    return {
      admitted: false,
      status: result.status,
      error: result.error,
      ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}),
    };
  }
}

/**
 * Start the workflow and learn its admission: eagerly on this process's worker with the admission handed
 * over in-process where that can be (one round trip to the server), else with update-with-start.
 */
async function admit(
  deps: GatewayDeps,
  workflowId: string,
  requestId: string,
  input: GovernedCompletionInput,
): Promise<{ admission: StreamAdmission; handle: WorkflowHandle }> {
  const args = [{ ...input, stream: true }];
  const board = deps.handoffs?.admissions;
  if (deps.eagerStart && board) {
    // the authorize step may claim the reservation for this gateway in its own statement
    const announced = board.expect(requestId, ANNOUNCED_ADMISSION_WAIT_MS, deps.streaming.identity);
    try {
      const handle = await deps.temporal.workflow.start(GOVERNED_COMPLETION_TYPE, {
        workflowId,
        taskQueue: deps.taskQueue,
        args,
        requestEagerStart: true,
      });
      // started elsewhere: its step announces nothing here
      if (!handle.eagerlyStarted) announced.cancel();
      const admission = (await announced.value) ?? (await askWorkflow(handle));
      return { admission, handle };
    } finally {
      announced.cancel();
    }
  }
  const start = new WithStartWorkflowOperation(GOVERNED_COMPLETION_TYPE, {
    workflowId,
    taskQueue: deps.taskQueue,
    args,
    workflowIdConflictPolicy: 'FAIL',
  });
  const admission = await deps.temporal.workflow.executeUpdateWithStart(admissionUpdate, {
    startWorkflowOperation: start,
  });
  return { admission, handle: await start.workflowHandle() };
}

interface ChunkUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

function usageOf(chunk: Record<string, unknown>): ChunkUsage | undefined {
  const xGroq = chunk.x_groq as { usage?: ChunkUsage } | undefined;
  return (chunk.usage as ChunkUsage | undefined) ?? xGroq?.usage ?? undefined;
}

function hasContent(chunk: Record<string, unknown>): boolean {
  const choices = chunk.choices as Array<{ delta?: { content?: string | null } }> | undefined;
  return Boolean(choices?.some((choice) => choice.delta?.content));
}

export async function streamChatCompletion(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  context: RequestContext,
  input: GovernedCompletionInput,
): Promise<void> {
  const workflowId = completionWorkflowId(context.requestId);
  let admission: StreamAdmission;
  let handle: WorkflowHandle;
  try {
    ({ admission, handle } = await admit(deps, workflowId, context.requestId, input));
  } catch (error) {
    deps.log.warn('stream admission failed', { requestId: context.requestId, error: String(error) });
    return sendError(
      response,
      503,
      {
        error: {
          message: 'The gateway could not admit the request.',
          type: 'api_error',
          code: 'service_unavailable',
        },
      },
      context.headers,
    );
  }
  if (!admission.admitted) {
    return sendError(response, admission.status, admission.error, {
      ...context.headers,
      ...(admission.retryAfterSeconds !== undefined
        ? { 'retry-after': String(admission.retryAfterSeconds) }
        : {}),
    });
  }
  // Groq's rate-limit headers are written while the stream runs, not before its first byte; the outcome
  // is reported after them, so the booking's token correction follows the observation as before
  let headersRecorded: Promise<unknown> = Promise.resolve();
  const finish = async (outcome: StreamOutcome) => {
    await headersRecorded;
    await handle.signal(streamFinishedSignal, outcome).catch((error: unknown) => {
      deps.log.warn('could not report a stream outcome; it will be booked as unknown', {
        requestId: context.requestId,
        error: String(error),
      });
    });
  };

  const { attempt, maxCompletionTokens } = admission;
  // handed over in-process, the admission may already be this gateway's claim
  const claim = admission.claimed
    ? { claimed: true as const }
    : await deps.ledger.claimCall(attempt.reservationId, deps.streaming.identity);
  if (!claim.claimed) {
    await finish({ kind: 'no_call', keyVersion: 0 });
    return sendError(
      response,
      503,
      {
        error: {
          message: 'The request could not be started.',
          type: 'api_error',
          code: 'service_unavailable',
        },
      },
      context.headers,
    );
  }

  let { client, version } = await deps.streaming.groq.clientFor(attempt.upstreamKey);
  const body: Record<string, unknown> = {
    ...input.request,
    stream: true,
    max_completion_tokens: maxCompletionTokens,
  };
  delete body.max_tokens;

  let stream: AsyncIterable<Record<string, unknown>>;
  let upstreamRequestId: string | null = null;
  const open = () =>
    client.chat.completions
      .create(body as unknown as Parameters<typeof client.chat.completions.create>[0] & { stream: true })
      .withResponse();
  try {
    let opened;
    try {
      opened = await open();
    } catch (error) {
      // a rejected key version (marked suspect): fail over once to another valid version; Groq billed nothing
      const rejected = error instanceof APIError && error.status === 401;
      if (!rejected || !(await deps.streaming.groq.keyRejected(attempt.upstreamKey, version)).failover)
        throw error;
      ({ client, version } = await deps.streaming.groq.clientFor(attempt.upstreamKey));
      opened = await open();
    }
    const { data, response: upstream } = opened;
    upstreamRequestId = upstream.headers.get('x-request-id');
    headersRecorded = deps.ledger
      .recordUpstreamHeaders(attempt.model, upstream.headers, Date.now())
      .catch(() => undefined);
    stream = data as unknown as AsyncIterable<Record<string, unknown>>;
  } catch (error) {
    if (error instanceof APIError && !(error instanceof APIConnectionError) && error.status !== undefined) {
      await finish({ kind: 'upstream_error', keyVersion: version, status: error.status });
      const inner = (error.error ?? {}) as Record<string, unknown>;
      const errorBody = (typeof inner.error === 'object' ? inner.error : inner) as Record<string, unknown>;
      return sendError(
        response,
        error.status,
        {
          error: {
            message: typeof errorBody.message === 'string' ? errorBody.message : error.message,
            type: typeof errorBody.type === 'string' ? errorBody.type : 'api_error',
            code: typeof errorBody.code === 'string' ? errorBody.code : `upstream_${error.status}`,
          },
        },
        context.headers,
      );
    }
    await finish({ kind: 'cut', keyVersion: version, receivedChunks: 0 });
    return sendError(
      response,
      502,
      { error: { message: 'The upstream did not answer.', type: 'api_error', code: 'upstream_unreachable' } },
      context.headers,
    );
  }

  let callerGone = false;
  request.once('close', () => {
    if (!response.writableFinished) callerGone = true;
  });
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...context.headers,
    ...(upstreamRequestId ? { 'x-groq-request-id': upstreamRequestId } : {}),
  });
  const write = (text: string) => {
    if (!callerGone && !response.destroyed) response.write(text);
  };

  let usage: ChunkUsage | undefined;
  let receivedChunks = 0;
  try {
    for await (const chunk of stream) {
      usage = usageOf(chunk) ?? usage;
      if (hasContent(chunk)) receivedChunks++;
      write(`data: ${JSON.stringify(chunk)}\n\n`);
    }
  } catch (error) {
    await finish({ kind: 'cut', keyVersion: version, receivedChunks, upstreamRequestId });
    write(
      `data: ${JSON.stringify({ error: { message: `The upstream stream broke: ${(error as Error).message}`, type: 'api_error' } })}\n\n`,
    );
    response.end();
    return;
  }
  if (usage) {
    await finish({
      kind: 'completed',
      keyVersion: version,
      upstreamRequestId,
      usage: {
        promptTokens: usage.prompt_tokens ?? 0,
        completionTokens: usage.completion_tokens ?? 0,
        cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
      },
    });
  } else {
    await finish({ kind: 'cut', keyVersion: version, receivedChunks, upstreamRequestId });
  }
  write('data: [DONE]\n\n');
  response.end();
}
