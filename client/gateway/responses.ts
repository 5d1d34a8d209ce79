/**
 * `POST /openai/v1/responses` on the gateway, for the unchanged `openai` client (`responses.create`,
 * streaming included). The request runs as a `governedModality` workflow like any other; with
 * `stream: true` the gateway answers the finished Response as the Responses API's server-sent events
 * (`response.created` ... `response.completed`), so the stream's usage is exactly what was booked.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promptTokenBound, promptTokenEstimate } from '../../domain/prompt-tokens';
import { parseResponsesRequest, responseStreamEvents, sseEvent } from '../../domain/responses';
import { sendRefusal } from './http';
import { readJsonBody, refuseBody } from './json-body';
import { answerModality, runModality } from './modality-run';
import type { GatewayDeps, RequestContext } from './deps';

export async function handleResponses(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  context: RequestContext,
): Promise<void> {
  const config = deps.config();
  // bounded, valid UTF-8 and JSON, and the text rule of every JSON body at the gateway
  const read = await readJsonBody(request, config.gateway.maxBodyBytes);
  if (!read.ok) return refuseBody(response, read, context.headers);
  const body = read.value;
  const parsed = parseResponsesRequest(body);
  if (!parsed.ok) {
    return sendRefusal(
      response,
      {
        code: 'invalid_request_error',
        message: parsed.message,
        ...(parsed.param ? { param: parsed.param } : {}),
      },
      context.headers,
    );
  }
  const tools = parsed.body.tools;
  const upstreamBody = { ...parsed.body };
  delete upstreamBody.stream;
  const result = await runModality(deps, context, {
    requestId: context.requestId,
    gatewayKeyId: context.principal.keyId,
    model: parsed.model,
    request: {
      endpoint: 'responses',
      body: upstreamBody,
      tokensEstimate: promptTokenEstimate(parsed.messages, tools),
    },
    promptTokenBound: promptTokenBound(parsed.messages, tools),
    ...(parsed.maxOutputTokens !== undefined ? { maxOutputTokens: parsed.maxOutputTokens } : {}),
    maxWaitMs: config.gateway.maxWaitMs,
  });
  if (!parsed.stream || !result?.ok || result.answer.type !== 'json') {
    return answerModality(deps, response, context, result);
  }
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...context.headers,
    ...(result.upstreamRequestId ? { 'x-groq-request-id': result.upstreamRequestId } : {}),
  });
  for (const event of responseStreamEvents(result.answer.body)) response.write(sseEvent(event));
  response.end();
}
