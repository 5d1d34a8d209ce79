/**
 * The call step of the modality endpoints, as the completion's: admit against the shared limits right
 * before calling, claim the reservation (exactly one claimer), call Groq through the official SDK with
 * the key resolved by name, and book exactly what Groq reports: the audio's duration (asked for as
 * verbose_json whatever the caller wants, then answered in the caller's format), the speech input's
 * characters, the Response's token usage. An error answer is not billed; a call whose answer is lost
 * stays charged as unknown (`abandonAttempt`).
 */
import { randomUUID } from 'node:crypto';
import { APIConnectionError, APIError, toFile } from 'groq-sdk';
import {
  audioCost,
  audioPriceOf,
  billedAudioSeconds,
  speechCost,
  speechPriceOf,
} from '../../domain/modality-pricing';
import { costOf } from '../../domain/pricing';
import { responseUsage } from '../../domain/responses';
import {
  bookUnits,
  getUpload,
  putUpload,
  recordUnitUsage,
  releaseAudio,
  type UnitOfUse,
} from '../../ledger/modalities';
import {
  abandonAttempt,
  errorBody,
  RETRYABLE_STATUS,
  retryAfterMs,
  usageRowOf,
} from '../completion/upstream-call';
import type { AttemptRef } from '../completion/types';
import { acquireModalityCapacity } from './capacity';
import type { ModalityDeps } from './deps';
import { unitOf, type ModalityAnswer, type ModalityCallInput, type ModalityCallResult } from './types';

/** What one answered call is billed, and what the caller gets. */
interface Billed {
  answer: ModalityAnswer;
  cost: bigint;
  unit: UnitOfUse;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  actualTokens: number;
  headers: Headers;
  upstreamRequestId: string | null;
}

async function callUpstream(
  deps: ModalityDeps,
  input: ModalityCallInput,
  client: Awaited<ReturnType<ModalityDeps['groq']['clientFor']>>['client'],
): Promise<Billed> {
  const { pricing } = deps.config();
  const request = input.request;
  if (request.endpoint === 'audio.transcriptions' || request.endpoint === 'audio.translations') {
    const stored = await getUpload(deps.ledger.sql, request.blobId);
    if (!stored) throw new Error(`upload ${request.blobId} is gone`);
    const file = await toFile(await deps.blobs.open(stored.sealed), request.filename);
    const { params } = request;
    const common = {
      file,
      model: input.model,
      response_format: 'verbose_json' as const,
      ...(params.prompt !== undefined ? { prompt: params.prompt } : {}),
      ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    };
    const { data, response } =
      request.endpoint === 'audio.transcriptions'
        ? await client.audio.transcriptions
            .create({
              ...common,
              ...(params.language !== undefined ? { language: params.language } : {}),
              ...(params.timestamp_granularities
                ? { timestamp_granularities: params.timestamp_granularities }
                : {}),
            })
            .withResponse()
        : await client.audio.translations.create(common).withResponse();
    const verbose = data as unknown as Record<string, unknown>;
    // Groq reports the duration; without it the worst case is booked (never under-count)
    const duration = typeof verbose.duration === 'number' ? verbose.duration : request.worstSeconds;
    const seconds = billedAudioSeconds(audioPriceOf(pricing, input.model), duration);
    const text = typeof verbose.text === 'string' ? verbose.text : '';
    const xGroq = verbose.x_groq;
    const answer: ModalityAnswer =
      params.response_format === 'text'
        ? { type: 'text', text }
        : params.response_format === 'json'
          ? { type: 'json', body: { text, ...(xGroq ? { x_groq: xGroq } : {}) } }
          : { type: 'json', body: verbose };
    return {
      answer,
      cost: audioCost(audioPriceOf(pricing, input.model), seconds),
      unit: { endpoint: request.endpoint, unit: 'audio_seconds', quantity: seconds },
      promptTokens: 0,
      completionTokens: 0,
      cachedTokens: 0,
      actualTokens: 0,
      headers: response.headers,
      upstreamRequestId:
        response.headers.get('x-request-id') ??
        (typeof (xGroq as { id?: unknown } | undefined)?.id === 'string'
          ? (xGroq as { id: string }).id
          : null),
    };
  }
  if (request.endpoint === 'audio.speech') {
    const { data, response } = await client.audio.speech
      .create(request.body as Parameters<typeof client.audio.speech.create>[0])
      .withResponse();
    const audio = Buffer.from(await data.arrayBuffer());
    const blobId = `speech_${randomUUID()}`;
    await putUpload(deps.ledger.sql, {
      id: blobId,
      team: input.team,
      filename: 'speech',
      bytes: audio.length,
      sealed: await deps.blobs.seal(audio),
    });
    return {
      answer: { type: 'blob', blobId, contentType: response.headers.get('content-type') ?? 'audio/wav' },
      cost: speechCost(speechPriceOf(pricing, input.model), request.characters),
      unit: { endpoint: 'audio.speech', unit: 'characters', quantity: request.characters },
      promptTokens: 0,
      completionTokens: 0,
      cachedTokens: 0,
      actualTokens: request.characters,
      headers: response.headers,
      upstreamRequestId: response.headers.get('x-request-id'),
    };
  }
  if (request.endpoint !== 'responses') throw new Error(`unexpected endpoint ${request.endpoint}`);
  const body = { ...request.body, stream: false };
  const { data, response } = await client
    .post<Record<string, unknown>>('/openai/v1/responses', { body })
    .withResponse();
  const usage = responseUsage(data);
  const xGroq = data.x_groq as { id?: unknown } | undefined;
  return {
    answer: { type: 'json', body: data },
    cost: costOf(pricing, input.model, usage),
    unit: { endpoint: 'responses', unit: 'tokens', quantity: 0 },
    ...usage,
    actualTokens: usage.promptTokens - usage.cachedTokens + usage.completionTokens,
    headers: response.headers,
    upstreamRequestId:
      response.headers.get('x-request-id') ?? (typeof xGroq?.id === 'string' ? xGroq.id : null),
  };
}

/** Groq answered an error: nothing is billed, the hold, the audio seconds and the lease are returned. */
async function bookError(
  deps: ModalityDeps,
  input: ModalityCallInput,
  keyVersion: number,
  error: APIError,
  startedAt: Date,
): Promise<ModalityCallResult> {
  const now = deps.now();
  const headers = error.headers ?? new Headers();
  const status = error.status ?? 502;
  await deps.ledger.recordUpstreamHeaders(input.model, headers, now);
  await recordUnitUsage(
    deps.ledger.sql,
    usageRowOf(input, keyVersion, 'error', {
      httpStatus: status,
      upstreamRequestId: headers.get('x-request-id'),
      startedAt,
      finishedAt: new Date(now),
    }),
    { endpoint: input.request.endpoint, unit: unitOf(input.request.endpoint), quantity: 0 },
  );
  const reservation = await deps.ledger.getReservation(input.reservationId);
  if (reservation?.state === 'held' || reservation?.state === 'unknown') {
    await deps.ledger.release(input.reservationId);
  }
  await releaseAudio(deps.ledger.sql, input.leaseId);
  await deps.ledger.correctTokens({ leaseId: input.leaseId, actualTokens: 0 });
  await deps.ledger.releaseLease(input.leaseId, now);
  const failover = status === 401 && (await deps.groq.keyRejected(input.upstreamKey, keyVersion)).failover;
  const after = retryAfterMs(headers);
  return {
    kind: 'upstream_error',
    status,
    body: errorBody(status, { error: error.error }),
    retryable: RETRYABLE_STATUS.has(status) || failover,
    ...(after !== undefined ? { retryAfterMs: after } : {}),
  };
}

/** The attempt's answer is lost: it stays charged as unknown, its usage row says which endpoint. */
export async function abandonModality(deps: ModalityDeps, ref: AttemptRef & { endpoint: string }) {
  const outcome = await abandonAttempt(deps, ref);
  if (outcome === 'released') await releaseAudio(deps.ledger.sql, ref.leaseId);
  await deps.ledger.sql.query(
    'UPDATE usage_records SET endpoint = $3, unit = $4 WHERE request_id = $1 AND attempt = $2',
    [
      ref.requestId,
      ref.attempt,
      ref.endpoint,
      unitOf(ref.endpoint as ModalityCallInput['request']['endpoint']),
    ],
  );
  return outcome;
}

export async function callModality(
  deps: ModalityDeps,
  input: ModalityCallInput,
): Promise<ModalityCallResult> {
  const request = input.request;
  const capacity = await acquireModalityCapacity(deps, {
    leaseId: input.leaseId,
    team: input.team,
    model: input.model,
    tokens:
      request.endpoint === 'responses'
        ? request.tokensEstimate
        : request.endpoint === 'audio.speech'
          ? request.characters
          : 0,
    ...(request.endpoint === 'audio.transcriptions' || request.endpoint === 'audio.translations'
      ? { audioSeconds: request.worstSeconds }
      : {}),
  });
  if (!capacity.admitted) return { kind: 'not_admitted', retryAfterMs: capacity.retryAfterMs };
  const { client, version } = await deps.groq.clientFor(input.upstreamKey);
  const claim = await deps.ledger.claimCall(input.reservationId, deps.identity);
  if (!claim.claimed) {
    await abandonModality(deps, { ...input, endpoint: request.endpoint });
    return { kind: 'unknown' };
  }
  const startedAt = new Date(deps.now());
  let billed: Billed;
  try {
    billed = await callUpstream(deps, input, client);
  } catch (error) {
    if (error instanceof APIError && !(error instanceof APIConnectionError) && error.status !== undefined) {
      return bookError(deps, input, version, error, startedAt);
    }
    // no answer: Groq may or may not have run it
    await abandonModality(deps, { ...input, endpoint: request.endpoint });
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
    };
  }
  const now = deps.now();
  await bookUnits(deps.ledger.sql, {
    ...billed.unit,
    reservationId: input.reservationId,
    cost: billed.cost,
    usage: usageRowOf(input, version, 'success', {
      promptTokens: billed.promptTokens,
      completionTokens: billed.completionTokens,
      cachedTokens: billed.cachedTokens,
      costNanos: billed.cost,
      upstreamRequestId: billed.upstreamRequestId,
      httpStatus: 200,
      startedAt,
      finishedAt: new Date(now),
    }),
    leaseId: input.leaseId,
    actualTokens: billed.actualTokens,
    model: input.model,
    headers: billed.headers,
    now,
  });
  return {
    kind: 'success',
    answer: billed.answer,
    costNanos: billed.cost.toString(),
    unit: billed.unit.unit,
    quantity:
      billed.unit.unit === 'tokens' ? billed.promptTokens + billed.completionTokens : billed.unit.quantity,
    upstreamRequestId: billed.upstreamRequestId,
    keyVersion: version,
  };
}
