/**
 * `POST /openai/v1/chat/completions`: validation, model lookup, faults, rate limits, latency, then a JSON
 * or SSE reply, billed for what it generated.
 *
 * Order of checks: body (413 if larger than maxBodyBytes) → JSON and parameters (400) → model (404) →
 * directives and context window (400) → injected faults → TPM/TPD size (413) → RPM/RPD/TPM/TPD (429) →
 * admission → latency → reply. Only admitted requests count against the limits; only replies are billed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { actualTokens, completionObject, planCompletion } from './completions';
import { faultError, GroqError, modelNotFound } from './errors';
import type { ResolvedFault } from './faults';
import { parseJson, readBody, sendError, sendJson, type Headers } from './http';
import { completionId, requestId } from './ids';
import type { RequestLogEntry } from './requestlog';
import type { EmulatorState } from './state';
import { sendStream } from './streaming';
import { validateChatRequest } from './validation';

export interface CallContext {
  keyName: string;
  log: RequestLogEntry;
}

/** Resolves true after `ms`, or false as soon as the client goes away. */
function waitWhileConnected(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(!res.destroyed);
    }, ms);
    res.once('close', onClose);
  });
}

export function answerFault(
  state: EmulatorState,
  res: ServerResponse,
  fault: ResolvedFault,
  model: string,
  ctx: CallContext,
): void {
  const now = state.now();
  if (fault.kind === 'timeout') {
    // hold the request open until the client (or close()) gives up; nothing is billed
    state.hanging.add(res);
    res.once('close', () => state.hanging.delete(res));
    ctx.log.status('timeout');
    return;
  }
  if (fault.kind !== 'status') return;
  const error = faultError(fault.status, fault.message, fault.type, fault.code);
  const headers: Headers = { ...state.limiter.headers(model, now), 'x-request-id': requestId(now) };
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
  sendError(res, error, headers);
  ctx.log.status(error.status);
}

export async function handleChatCompletion(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: CallContext,
): Promise<void> {
  let modelName: string | undefined;
  try {
    const request = validateChatRequest(parseJson(await readBody(req, state.config.maxBodyBytes)));
    modelName = request.model;
    const model = state.model(request.model);
    if (!model) throw modelNotFound(request.model);
    const plan = planCompletion(request, model);

    const fault = state.faults.take({ model: model.id, keyName: ctx.keyName, stream: request.stream });
    if (fault && fault.kind !== 'cut_stream') {
      answerFault(state, res, fault, model.id, ctx);
      return;
    }

    const now = state.now();
    const limited = state.limiter.check(model.id, plan.reservedTokens, now);
    if (limited) throw limited;
    state.limiter.admit(model.id, plan.reservedTokens, now);
    const reqId = requestId(now);
    const headers: Headers = { ...state.limiter.headers(model.id, now), 'x-request-id': reqId };
    const ids = { completionId: completionId(), requestId: reqId };

    const { latencyMs, perTokenMs } = state.latency;
    if (latencyMs > 0 && !(await waitWhileConnected(res, latencyMs))) {
      // the client gave up before the reply: its tokens are given back, nothing is billed
      state.limiter.settle(model.id, plan.reservedTokens, 0, state.now());
      ctx.log.status('closed');
      return;
    }
    const created = Math.floor(state.now() / 1000);
    const settleAndBill = (completionTokens: number, cut: boolean): void => {
      state.limiter.settle(model.id, plan.reservedTokens, actualTokens(plan, completionTokens), state.now());
      state.billing.bill({
        requestId: reqId,
        keyName: ctx.keyName,
        model: model.id,
        promptTokens: plan.promptTokens,
        completionTokens,
        cachedTokens: plan.cachedTokens,
        batch: false,
        stream: request.stream,
        cut,
      });
    };

    if (request.stream) {
      sendStream({
        res,
        headers,
        plan,
        ids,
        createdSeconds: created,
        perTokenMs,
        ...(fault?.kind === 'cut_stream' ? { cutAfterChunks: fault.afterChunks } : {}),
        onDone: (completionTokens, cut) => {
          settleAndBill(completionTokens, cut);
          ctx.log.status(cut ? 'cut' : 200);
        },
      });
      return;
    }
    sendJson(res, 200, completionObject(plan, ids, created), headers);
    settleAndBill(plan.completionTokens, false);
    ctx.log.status(200);
  } catch (error) {
    if (!(error instanceof GroqError)) throw error;
    const now = state.now();
    sendError(res, error, { ...state.rateLimitHeaders(modelName), 'x-request-id': requestId(now) });
    ctx.log.status(error.status);
  }
}
