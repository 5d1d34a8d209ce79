/**
 * `governedModality`: one workflow per speech-to-text, text-to-speech or Responses request, with the steps
 * of a governed completion: policy (the model on the team's allow-list and serving the endpoint, role,
 * the upload and character caps), per attempt a worst-case reservation (audio: the seconds of the
 * header's duration or of the byte-size bound; speech: the characters; responses: tokens as for chat),
 * admission by the shared rate limits (audio seconds per hour and day included), the call with the key
 * resolved by name and exact booking of what Groq reports, then the budget alerts. Uploads and speech
 * answers cross this history only as blob ids.
 */
import type { Duration } from '@temporalio/common';
import { proxyLocalActivities, sleep } from '@temporalio/workflow';
import type { CompletionActivities } from '../activities/completion';
import type { ModalityActivities } from '../activities/modalities';
import type { ModalityAnswer, ModalityRequest } from '../activities/modalities/types';
import { refusalBody, refusalStatus, type ApiErrorBody, type Refusal } from '../domain/api-errors';
import type { UsageUnit } from '../domain/modality-pricing';

export interface GovernedModalityInput {
  requestId: string;
  /** the gateway key's id (never its secret) */
  gatewayKeyId: string;
  model: string;
  request: ModalityRequest;
  /** speech to text: the upload's size (an upload over the cap is refused, and was never stored) */
  uploadBytes?: number;
  /** responses: the prompt's hard token bound, and max_output_tokens when given */
  promptTokenBound?: number;
  maxOutputTokens?: number;
  maxWaitMs: number;
  /** upstream attempts before giving up (default 4) */
  maxAttempts?: number;
}

export type GovernedModalityResult =
  | {
      ok: true;
      answer: ModalityAnswer;
      costNanos: string;
      unit: UsageUnit;
      quantity: number;
      team: string;
      keyName: string;
      keyVersion: number;
      attempts: number;
      upstreamRequestId: string | null;
    }
  | { ok: false; status: number; error: ApiErrorBody; retryAfterSeconds?: number; attempts: number };

type Activities = CompletionActivities & ModalityActivities;

const quick = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds', maximumAttempts: 10 },
});

// never retried by Temporal itself: each attempt has its own reservation and admission
const upstream = proxyLocalActivities<Activities>({
  startToCloseTimeout: '120 seconds',
  retry: { maximumAttempts: 1 },
});

const UPSTREAM_LOST: ApiErrorBody = {
  error: { message: 'The upstream did not answer.', type: 'api_error', code: 'upstream_unreachable' },
};

function refused(refusal: Refusal, attempts: number): GovernedModalityResult {
  return {
    ok: false,
    status: refusalStatus(refusal.code),
    error: refusalBody(refusal),
    ...(refusal.retryAfterSeconds !== undefined ? { retryAfterSeconds: refusal.retryAfterSeconds } : {}),
    attempts,
  };
}

function backoff(attempt: number): Duration {
  return Math.min(8000, 500 * 2 ** (attempt - 1));
}

export async function governedModality(input: GovernedModalityInput): Promise<GovernedModalityResult> {
  try {
    return await govern(input);
  } finally {
    if ('blobId' in input.request && input.request.blobId !== '') {
      await quick.discardBlob({ blobId: input.request.blobId });
    }
  }
}

async function govern(input: GovernedModalityInput): Promise<GovernedModalityResult> {
  const { requestId, request } = input;
  const policy = await quick.checkModalityPolicy({
    requestId,
    gatewayKeyId: input.gatewayKeyId,
    model: input.model,
    endpoint: request.endpoint,
    ...(input.uploadBytes !== undefined ? { uploadBytes: input.uploadBytes } : {}),
    ...(request.endpoint === 'audio.speech' ? { characters: request.characters } : {}),
    ...(input.maxOutputTokens !== undefined ? { maxOutputTokens: input.maxOutputTokens } : {}),
  });
  if (!policy.ok) return refused(policy.refusal, 0);
  const { team, model, period, upstreamKey } = policy;
  const maxAttempts = input.maxAttempts ?? 4;
  const started = Date.now();
  let lastError: GovernedModalityResult | undefined;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const reservation =
      request.endpoint === 'responses'
        ? await quick.reserveBudget({
            requestId,
            attempt,
            team,
            period,
            model,
            promptTokenBound: input.promptTokenBound ?? 0,
            maxCompletionTokens: policy.maxCompletionTokens,
            batch: false,
          })
        : await quick.reserveUnits({
            requestId,
            attempt,
            team,
            period,
            model,
            endpoint: request.endpoint,
            quantity: request.endpoint === 'audio.speech' ? request.characters : request.worstSeconds,
          });
    if (!reservation.ok) return refused(reservation.refusal, attempt - 1);
    const leaseId = `${requestId}#${attempt}`;
    const ref = {
      requestId,
      attempt,
      reservationId: reservation.reservationId,
      leaseId,
      team,
      period,
      model,
      upstreamKey,
      gatewayKeyId: input.gatewayKeyId,
      batch: false,
    };
    const callRequest: ModalityRequest =
      request.endpoint === 'responses'
        ? {
            ...request,
            body: { ...request.body, max_output_tokens: policy.maxCompletionTokens },
            tokensEstimate: request.tokensEstimate + policy.maxCompletionTokens,
          }
        : request;

    let call;
    try {
      for (;;) {
        call = await upstream.callModality({ ...ref, request: callRequest });
        if (call.kind !== 'not_admitted') break;
        // no room under the limits yet: wait durably within the request's patience, or answer 429
        const retryAfterMs = call.retryAfterMs;
        if (retryAfterMs !== null && Date.now() - started + retryAfterMs <= input.maxWaitMs) {
          await sleep(Math.max(50, retryAfterMs));
          continue;
        }
        await quick.releaseAttempt({ reservationId: reservation.reservationId, leaseId });
        const retryAfterSeconds = Math.max(1, Math.ceil((retryAfterMs ?? 60_000) / 1000));
        await quick.recordRefusal({ requestId, team, period, code: 'rate_limit_exceeded' });
        return refused(
          {
            code: 'rate_limit_exceeded',
            message:
              retryAfterMs === null
                ? `The request is larger than a rate limit of team ${team} or model ${model} allows.`
                : `Rate limit reached for team ${team} on model ${model}. Please try again in ${retryAfterSeconds}s.`,
            retryAfterSeconds,
          },
          attempt - 1,
        );
      }
    } catch {
      // the call's activity failed without an answer: its outcome is unknown and stays charged
      await quick.abandonModality({ ...ref, endpoint: request.endpoint });
      lastError = { ok: false, status: 502, error: UPSTREAM_LOST, attempts: attempt };
      await sleep(backoff(attempt));
      continue;
    }
    if (call.kind === 'success') {
      await quick.checkAlerts({ team, period });
      return {
        ok: true,
        answer: call.answer,
        costNanos: call.costNanos,
        unit: call.unit,
        quantity: call.quantity,
        team,
        keyName: upstreamKey,
        keyVersion: call.keyVersion,
        attempts: attempt,
        upstreamRequestId: call.upstreamRequestId,
      };
    }
    if (call.kind === 'unknown') {
      await sleep(backoff(attempt));
      continue;
    }
    lastError = { ok: false, status: call.status, error: call.body, attempts: attempt };
    if (!call.retryable) return lastError;
    if (call.retryAfterMs !== undefined) lastError.retryAfterSeconds = Math.ceil(call.retryAfterMs / 1000);
    if (attempt < maxAttempts) await sleep(call.retryAfterMs ?? backoff(attempt));
  }
  return lastError ?? { ok: false, status: 502, error: UPSTREAM_LOST, attempts: maxAttempts };
}
