/**
 * `POST /openai/v1/responses`: Groq's Responses API. The input (a string or messages, plus instructions)
 * runs through the same completion logic as chat (so the same prompt gives the same words and token
 * counts), and the answer is a Response object, or with `stream: true` the Response's events
 * (`response.created` ... `response.completed`). Billed in tokens like chat.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { parseResponsesRequest, responseStreamEvents, sseEvent } from '../domain/responses';
import { answerFault, type CallContext } from './chat';
import { actualTokens, planCompletion, type CompletionPlan } from './completions';
import { GroqError, invalidRequest, modelNotFound } from './errors';
import { parseJson, readBody, sendError, sendJson, type Headers } from './http';
import { requestId, ulid } from './ids';
import type { EmulatorState } from './state';
import { validateChatRequest } from './validation';

export function responseObject(
  plan: CompletionPlan,
  body: Record<string, unknown>,
  ids: { responseId: string; requestId: string },
  createdSeconds: number,
): Record<string, unknown> {
  const incomplete = plan.finishReason === 'length';
  return {
    id: ids.responseId,
    object: 'response',
    created_at: createdSeconds,
    status: incomplete ? 'incomplete' : 'completed',
    error: null,
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: plan.model,
    output: [
      {
        type: 'message',
        id: `msg_${randomUUID().replace(/-/g, '')}`,
        status: incomplete ? 'incomplete' : 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: plan.words.join(' '), annotations: [], logprobs: [] }],
      },
    ],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: null,
    service_tier: 'on_demand',
    store: false,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: {
      input_tokens: plan.promptTokens,
      input_tokens_details: { cached_tokens: plan.cachedTokens },
      output_tokens: plan.completionTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: plan.promptTokens + plan.completionTokens,
    },
    user: null,
    metadata: body.metadata ?? {},
    x_groq: { id: ids.requestId },
  };
}

export async function handleResponses(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: CallContext,
): Promise<void> {
  let modelName: string | undefined;
  try {
    const parsed = parseResponsesRequest(parseJson(await readBody(req, state.config.maxBodyBytes)));
    if (!parsed.ok) throw invalidRequest(parsed.message, parsed.param);
    modelName = parsed.model;
    const model = state.model(parsed.model);
    if (!model) throw modelNotFound(parsed.model);
    if (model.kind !== 'chat')
      throw invalidRequest(`model \`${parsed.model}\` does not support responses`, 'model');
    const chat = validateChatRequest({
      model: parsed.model,
      messages: parsed.messages,
      ...(parsed.maxOutputTokens !== undefined ? { max_completion_tokens: parsed.maxOutputTokens } : {}),
      ...(typeof parsed.body.temperature === 'number' ? { temperature: parsed.body.temperature } : {}),
      ...(typeof parsed.body.top_p === 'number' ? { top_p: parsed.body.top_p } : {}),
    });
    const plan = planCompletion(chat, model);
    const fault = state.faults.take({ model: model.id, keyName: ctx.keyName, stream: parsed.stream });
    if (fault && fault.kind !== 'cut_stream') return answerFault(state, res, fault, model.id, ctx);

    const now = state.now();
    const limited = state.limiter.check(model.id, plan.reservedTokens, now);
    if (limited) throw limited;
    state.limiter.admit(model.id, plan.reservedTokens, now);
    state.limiter.settle(model.id, plan.reservedTokens, actualTokens(plan, plan.completionTokens), now);
    const reqId = requestId(now);
    const headers: Headers = { ...state.limiter.headers(model.id, now), 'x-request-id': reqId };
    const response = responseObject(
      plan,
      parsed.body,
      { responseId: `resp_${ulid(now).toLowerCase()}`, requestId: reqId },
      Math.floor(now / 1000),
    );
    state.billing.bill({
      requestId: reqId,
      keyName: ctx.keyName,
      model: model.id,
      promptTokens: plan.promptTokens,
      completionTokens: plan.completionTokens,
      cachedTokens: plan.cachedTokens,
      batch: false,
      stream: parsed.stream,
      cut: false,
      endpoint: 'responses',
    });
    ctx.log.status(200);
    if (!parsed.stream) return sendJson(res, 200, response, headers);
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    for (const event of responseStreamEvents(response)) res.write(sseEvent(event));
    res.end();
  } catch (error) {
    if (!(error instanceof GroqError)) throw error;
    req.resume();
    sendError(res, error, { ...state.rateLimitHeaders(modelName), 'x-request-id': requestId(state.now()) });
    ctx.log.status(error.status);
  }
}
