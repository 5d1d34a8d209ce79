/**
 * The call step: claim the attempt's reservation, call Groq through the official SDK with the key
 * resolved by name, and book the outcome: usage and exact cost for a completion, nothing for a refusal
 * Groq does not bill, and "unknown" (reservation kept, flagged) when nobody can tell whether Groq ran it.
 */
import { APIConnectionError, APIError } from 'groq-sdk';
import type { ApiErrorBody } from '../../domain/api-errors';
import type { UsageAttempt } from '../../ledger';
import { costOf } from '../../domain/pricing';
import { acquireCapacity } from './capacity';
import type { CompletionDeps } from './deps';
import type { AttemptRef, CallInput, CallResult } from './types';

const RETRYABLE_STATUS = new Set([408, 409, 429, 498, 500, 502, 503, 504]);

/** `retry-after` (seconds) or `retry-after-ms`, as milliseconds. */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.ceil(ms);
  const seconds = Number(headers?.get('retry-after'));
  if (Number.isFinite(seconds) && seconds > 0) return Math.ceil(seconds * 1000);
  return undefined;
}

function errorBody(error: APIError): ApiErrorBody {
  const raw = error.error as Record<string, unknown> | undefined;
  const inner = (raw && typeof raw.error === 'object' ? raw.error : raw) as
    Record<string, unknown> | undefined;
  const message = typeof inner?.message === 'string' ? inner.message : error.message;
  return {
    error: {
      message,
      type: typeof inner?.type === 'string' ? inner.type : 'api_error',
      code: typeof inner?.code === 'string' ? inner.code : `upstream_${error.status ?? 'error'}`,
      ...(typeof inner?.param === 'string' ? { param: inner.param } : {}),
    },
  };
}

/**
 * Book an attempt whose call may have reached Groq but whose answer was lost (the worker died, the
 * connection broke, the activity timed out): the reservation stays charged and is flagged. An attempt
 * that never claimed its reservation made no call, and its hold is simply returned.
 */
export async function abandonAttempt(deps: CompletionDeps, ref: AttemptRef): Promise<'unknown' | 'released'> {
  const now = deps.now();
  await deps.ledger.releaseLease(ref.leaseId, now);
  if (!(await deps.ledger.callWasClaimed(ref.reservationId))) {
    const reservation = await deps.ledger.getReservation(ref.reservationId);
    if (reservation?.state === 'held') await deps.ledger.release(ref.reservationId);
    return 'released';
  }
  const reservation = await deps.ledger.getReservation(ref.reservationId);
  if (reservation?.state === 'held') await deps.ledger.markUnknown(ref.reservationId);
  await deps.ledger.recordUsage({
    requestId: ref.requestId,
    attempt: ref.attempt,
    period: ref.period,
    team: ref.team,
    model: ref.model,
    keyName: ref.upstreamKey,
    keyVersion: 0,
    gatewayKeyId: ref.gatewayKeyId,
    reservationId: ref.reservationId,
    promptTokens: 0,
    completionTokens: 0,
    costNanos: 0n,
    batch: ref.batch,
    outcome: 'unknown',
    startedAt: new Date(now),
    finishedAt: new Date(now),
  });
  deps.log.warn('upstream attempt of unknown outcome; its reservation stays charged for reconciliation', {
    requestId: ref.requestId,
    attempt: ref.attempt,
    reservationId: ref.reservationId,
  });
  return 'unknown';
}

export async function callGroq(deps: CompletionDeps, input: CallInput): Promise<CallResult> {
  if (input.admission) {
    const capacity = await acquireCapacity(deps, {
      leaseId: input.leaseId,
      team: input.team,
      model: input.model,
      tokens: input.admission.tokens,
      interactive: input.admission.interactive,
    });
    if (!capacity.admitted) return { kind: 'not_admitted', retryAfterMs: capacity.retryAfterMs };
  }
  const claim = await deps.ledger.claimCall(input.reservationId, deps.identity);
  if (!claim.claimed) {
    await abandonAttempt(deps, input);
    return { kind: 'unknown' };
  }
  const startedAt = new Date(deps.now());
  const { client, version } = await deps.groq.clientFor(input.upstreamKey);
  const body: Record<string, unknown> = {
    ...input.request,
    max_completion_tokens: input.maxCompletionTokens,
  };
  delete body.max_tokens;
  delete body.stream;
  delete body.stream_options;

  const usageRow = (
    outcome: 'success' | 'error',
    fields: {
      promptTokens?: number;
      completionTokens?: number;
      cachedTokens?: number;
      costNanos?: bigint;
      upstreamRequestId?: string | null;
      httpStatus: number | null;
    },
  ): UsageAttempt => ({
    requestId: input.requestId,
    attempt: input.attempt,
    period: input.period,
    team: input.team,
    model: input.model,
    keyName: input.upstreamKey,
    keyVersion: version,
    gatewayKeyId: input.gatewayKeyId,
    reservationId: input.reservationId,
    promptTokens: fields.promptTokens ?? 0,
    completionTokens: fields.completionTokens ?? 0,
    cachedTokens: fields.cachedTokens ?? 0,
    costNanos: fields.costNanos ?? 0n,
    batch: input.batch,
    upstreamRequestId: fields.upstreamRequestId ?? null,
    httpStatus: fields.httpStatus,
    outcome,
    startedAt,
    finishedAt: new Date(deps.now()),
  });
  const book = async (outcome: 'success' | 'error', fields: Parameters<typeof usageRow>[1]) => {
    await deps.ledger.recordUsage(usageRow(outcome, fields));
  };

  try {
    const { data, response } = await client.chat.completions
      .create(body as unknown as Parameters<typeof client.chat.completions.create>[0] & { stream?: false })
      .withResponse();
    const now = deps.now();
    const usage = data.usage;
    const promptTokens = usage?.prompt_tokens ?? 0;
    const completionTokens = usage?.completion_tokens ?? 0;
    const cachedTokens =
      (usage as { prompt_tokens_details?: { cached_tokens?: number } } | undefined)?.prompt_tokens_details
        ?.cached_tokens ?? 0;
    const cost = costOf(
      deps.config().pricing,
      input.model,
      { promptTokens, completionTokens, cachedTokens },
      {
        batch: input.batch,
      },
    );
    const upstreamRequestId =
      response.headers.get('x-request-id') ?? (data as { x_groq?: { id?: string } }).x_groq?.id ?? null;
    // settle, usage row, Groq's rate-limit headers, token correction and lease end: one transaction
    await deps.ledger.bookCompletion({
      reservationId: input.reservationId,
      cost,
      usage: usageRow('success', {
        promptTokens,
        completionTokens,
        cachedTokens,
        costNanos: cost,
        upstreamRequestId,
        httpStatus: 200,
      }),
      leaseId: input.leaseId,
      actualTokens: promptTokens - cachedTokens + completionTokens,
      model: input.model,
      headers: response.headers,
      now,
    });
    return {
      kind: 'success',
      completion: data as unknown as Record<string, unknown>,
      usage: { promptTokens, completionTokens, cachedTokens, costNanos: cost.toString() },
      upstreamRequestId,
      keyVersion: version,
    };
  } catch (error) {
    if (error instanceof APIError && !(error instanceof APIConnectionError) && error.status !== undefined) {
      // Groq answered with an error: it bills nothing for it
      const now = deps.now();
      if (error.headers) await deps.ledger.recordUpstreamHeaders(input.model, error.headers, now);
      await book('error', {
        httpStatus: error.status,
        upstreamRequestId: error.headers?.get('x-request-id') ?? null,
      });
      await deps.ledger.release(input.reservationId);
      await deps.ledger.correctTokens({ leaseId: input.leaseId, actualTokens: 0 });
      await deps.ledger.releaseLease(input.leaseId, now);
      const after = retryAfterMs(error.headers);
      // a rejected key version is marked suspect; the next attempt fails over when another version is valid
      const failover =
        error.status === 401 && (await deps.groq.keyRejected(input.upstreamKey, version)).failover;
      return {
        kind: 'upstream_error',
        status: error.status,
        body: errorBody(error),
        retryable: RETRYABLE_STATUS.has(error.status) || failover,
        ...(after !== undefined ? { retryAfterMs: after } : {}),
        keyRejected: error.status === 401,
      };
    }
    // no answer (connection broke, timed out): Groq may or may not have run it
    await abandonAttempt(deps, input);
    return {
      kind: 'upstream_error',
      status: 502,
      body: {
        error: {
          message: `The upstream call failed without an answer: ${(error as Error).message}`,
          type: 'api_error',
          code: 'upstream_unreachable',
        },
      },
      retryable: true,
      keyRejected: false,
    };
  }
}
