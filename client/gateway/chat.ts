/**
 * `POST /openai/v1/chat/completions`: validate before any spend, then run the request as a
 * `governedCompletion` workflow (JSON) or hand it to the streaming path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseChatRequest } from '../../domain/chat-request';
import type { CompletionAnswer } from '../../activities/completion/types';
import type { GovernedCompletionInput } from '../../workflows/governed-completion';
import { runCompletion } from './completion-run';
import { sendError, sendJson, sendRefusal, sendUnavailable } from './http';
import { readJsonBody, refuseBody } from './json-body';
import type { GatewayDeps, RequestContext } from './deps';
import { streamChatCompletion } from './streaming';

export async function handleChatCompletion(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  context: RequestContext,
): Promise<void> {
  const config = deps.config();
  const body = await readJsonBody(request, config.gateway.maxBodyBytes);
  if (!body.ok) return refuseBody(response, body, context.headers);
  const parsed = parseChatRequest(body.value);
  if (!parsed.ok) {
    return sendRefusal(
      response,
      { code: 'invalid_request_error', message: parsed.message, param: parsed.param },
      context.headers,
    );
  }

  const input: GovernedCompletionInput = {
    requestId: context.requestId,
    gatewayKeyId: context.principal.keyId,
    request: parsed.request,
    interactive: true,
    maxWaitMs: config.gateway.maxWaitMs,
    ...(parsed.maxCompletionTokens !== undefined ? { maxCompletionTokens: parsed.maxCompletionTokens } : {}),
  };
  if (parsed.request.stream) return streamChatCompletion(deps, request, response, context, input);

  let result: CompletionAnswer;
  try {
    result = await runCompletion(deps, context.requestId, input);
  } catch (error) {
    deps.log.warn('completion workflow failed', { requestId: context.requestId, error: String(error) });
    return sendUnavailable(response, context.headers);
  }
  if (result.ok) {
    return sendJson(response, 200, result.completion, {
      ...context.headers,
      ...(result.upstreamRequestId ? { 'x-groq-request-id': result.upstreamRequestId } : {}),
    });
  }
  return sendError(response, result.status, result.error, {
    ...context.headers,
    ...(result.retryAfterSeconds !== undefined ? { 'retry-after': String(result.retryAfterSeconds) } : {}),
  });
}
