/**
 * Streamed chat completions. The workflow decides (policy, reservation, rate limits) and the gateway
 * streams: tokens go from Groq straight to the caller and never through workflow history. The gateway
 * claims the reservation before calling, so a gateway that dies mid-stream leaves an attempt of
 * unknown outcome that stays charged. When the caller goes away, the gateway still reads Groq's stream
 * to its end, so the usage Groq bills arrives and is booked exactly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { APIConnectionError, APIError } from 'groq-sdk';
import type { GroqClientFactory } from '../../activities/groq-client';
import { completionWorkflowId } from '../../domain/request-ids';
import type { GovernedCompletionInput } from '../../workflows/governed-completion';
import {
  admissionUpdate,
  streamFinishedSignal,
  type StreamAdmission,
  type StreamOutcome,
} from '../../workflows/governed-completion-messages';
import { sendError } from './http';
import type { GatewayDeps, RequestContext } from './server';

export interface StreamingDeps {
  groq: GroqClientFactory;
  /** names the gateway in reservation claims */
  identity: string;
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
  const start = new WithStartWorkflowOperation('governedCompletion', {
    workflowId,
    taskQueue: deps.taskQueue,
    args: [{ ...input, stream: true }],
    workflowIdConflictPolicy: 'FAIL',
  });
  let admission: StreamAdmission;
  try {
    admission = await deps.temporal.workflow.executeUpdateWithStart(admissionUpdate, {
      startWorkflowOperation: start,
    });
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
  const handle = await start.workflowHandle();
  const finish = (outcome: StreamOutcome) =>
    handle.signal(streamFinishedSignal, outcome).catch((error: unknown) => {
      deps.log.warn('could not report a stream outcome; it will be booked as unknown', {
        requestId: context.requestId,
        error: String(error),
      });
    });

  const { attempt, maxCompletionTokens } = admission;
  const claim = await deps.ledger.claimCall(attempt.reservationId, deps.streaming.identity);
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
    await deps.ledger
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
