/**
 * The call step: claim the attempt's reservation, call Groq through the official SDK with the key
 * resolved by name, and book the outcome: usage and exact cost for a completion, nothing for a refusal
 * Groq does not bill, and "unknown" (reservation kept, flagged) when nobody can tell whether Groq ran it.
 */
import { APIConnectionError, APIError, type Groq } from 'groq-sdk';
import type { ApiErrorBody } from '../../domain/api-errors';
import type { Nanos } from '../../domain/money';
import { claimedViaEgress, EGRESS_CLAIM_SUFFIX, EGRESS_HEADERS } from '../../domain/egress';
import { costOf } from '../../domain/pricing';
import type { UsageAttempt } from '../../ledger';
import { UpstreamCallJournal } from '../../ledger/upstream-calls';
import { alertsAfterBooking } from './alerts';
import { acquireCapacity } from './capacity';
import type { CompletionDeps } from './deps';
import { callAnswer } from './handoffs';
import type { AttemptRef, CallInput, CallResult } from './types';

/** Groq's answers worth another attempt (the attempt loop's retries). */
export const RETRYABLE_STATUS = new Set([408, 409, 429, 498, 500, 502, 503, 504]);

/** `retry-after` (seconds) or `retry-after-ms`, as milliseconds. */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.ceil(ms);
  const seconds = Number(headers?.get('retry-after'));
  if (Number.isFinite(seconds) && seconds > 0) return Math.ceil(seconds * 1000);
  return undefined;
}

/**
 * Groq's error body from what reached us: the body as Groq sent it (`{"error": {...}}`, from the egress
 * journal), or groq-sdk's `error.error` wrapped once more (which is that whole body again).
 */
export function errorBody(status: number, raw: unknown): ApiErrorBody {
  let inner = raw as Record<string, unknown> | undefined;
  while (inner && typeof inner.error === 'object' && inner.error !== null) {
    inner = inner.error as Record<string, unknown>;
  }
  return {
    error: {
      message: typeof inner?.message === 'string' ? inner.message : `Groq answered ${status}.`,
      type: typeof inner?.type === 'string' ? inner.type : 'api_error',
      code: typeof inner?.code === 'string' ? inner.code : `upstream_${status}`,
      ...(typeof inner?.param === 'string' ? { param: inner.param } : {}),
    },
  };
}

/** The usage row of an attempt, with what is known of its call. */
export function usageRowOf(
  ref: AttemptRef,
  keyVersion: number,
  outcome: 'success' | 'error' | 'unknown',
  fields: {
    promptTokens?: number;
    completionTokens?: number;
    cachedTokens?: number;
    costNanos?: bigint;
    upstreamRequestId?: string | null;
    httpStatus?: number | null;
    startedAt: Date;
    finishedAt: Date;
  },
): UsageAttempt {
  return {
    requestId: ref.requestId,
    attempt: ref.attempt,
    period: ref.period,
    team: ref.team,
    model: ref.model,
    keyName: ref.upstreamKey,
    keyVersion,
    gatewayKeyId: ref.gatewayKeyId,
    reservationId: ref.reservationId,
    promptTokens: fields.promptTokens ?? 0,
    completionTokens: fields.completionTokens ?? 0,
    cachedTokens: fields.cachedTokens ?? 0,
    costNanos: fields.costNanos ?? 0n,
    batch: ref.batch,
    upstreamRequestId: fields.upstreamRequestId ?? null,
    httpStatus: fields.httpStatus ?? null,
    outcome,
    startedAt: fields.startedAt,
    finishedAt: fields.finishedAt,
  };
}

/** The attempt stays charged and flagged: Groq may have run its call, and nobody can know the answer. */
async function holdAsUnknown(deps: CompletionDeps, ref: AttemptRef): Promise<'unknown'> {
  const now = deps.now();
  const reservation = await deps.ledger.getReservation(ref.reservationId);
  if (reservation?.state === 'held') await deps.ledger.markUnknown(ref.reservationId);
  await deps.ledger.recordUsage(
    usageRowOf(ref, 0, 'unknown', { startedAt: new Date(now), finishedAt: new Date(now) }),
  );
  deps.log.warn('upstream attempt of unknown outcome; its reservation stays charged for reconciliation', {
    requestId: ref.requestId,
    attempt: ref.attempt,
    reservationId: ref.reservationId,
  });
  return 'unknown';
}

/** What Groq answered to a call: its status, headers and (parsed) body. */
export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** What booking a successful answer writes (its exact cost and usage row) and what it answers. */
export function successOf(
  deps: Pick<CompletionDeps, 'config'>,
  input: AttemptRef,
  keyVersion: number,
  answer: Answer,
  startedAt: Date,
  now: number,
) {
  const data = answer.body as {
    usage?: {
      prompt_tokens?: number;
      completion_tokens?: number;
      prompt_tokens_details?: { cached_tokens?: number };
    };
    x_groq?: { id?: string };
  };
  const promptTokens = data.usage?.prompt_tokens ?? 0;
  const completionTokens = data.usage?.completion_tokens ?? 0;
  const cachedTokens = data.usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const cost = costOf(
    deps.config().pricing,
    input.model,
    { promptTokens, completionTokens, cachedTokens },
    { batch: input.batch },
  );
  const upstreamRequestId = answer.headers.get('x-request-id') ?? data.x_groq?.id ?? null;
  const usage = usageRowOf(input, keyVersion, 'success', {
    promptTokens,
    completionTokens,
    cachedTokens,
    costNanos: cost,
    upstreamRequestId,
    httpStatus: answer.status,
    startedAt,
    finishedAt: new Date(now),
  });
  const result: Extract<CallResult, { kind: 'success' }> = {
    kind: 'success',
    completion: answer.body as Record<string, unknown>,
    usage: { promptTokens, completionTokens, cachedTokens, costNanos: cost.toString() },
    upstreamRequestId,
    keyVersion,
  };
  return { cost, usage, actualTokens: promptTokens - cachedTokens + completionTokens, result };
}

/**
 * Book Groq's answer to an attempt: usage and exact cost for a completion (in one transaction with the
 * settlement, Groq's rate-limit headers, the token correction and the lease's end), nothing for an error
 * Groq does not bill. The same for an answer just received and one read back from the egress journal.
 */
export async function bookAnswer(
  deps: CompletionDeps,
  input: AttemptRef,
  keyVersion: number,
  answer: Answer,
  startedAt: Date,
  onBooked?: (spend: ReadonlyMap<string, Nanos>) => void,
): Promise<CallResult> {
  const now = deps.now();
  if (answer.status >= 200 && answer.status < 300) {
    const success = successOf(deps, input, keyVersion, answer, startedAt, now);
    const booking = await deps.ledger.bookCompletion({
      reservationId: input.reservationId,
      cost: success.cost,
      usage: success.usage,
      leaseId: input.leaseId,
      actualTokens: success.actualTokens,
      model: input.model,
      headers: answer.headers,
      now,
    });
    if (booking.spend) onBooked?.(booking.spend);
    return success.result;
  }
  // Groq answered with an error: it bills nothing for it
  await deps.ledger.recordUpstreamHeaders(input.model, answer.headers, now);
  await deps.ledger.recordUsage(
    usageRowOf(input, keyVersion, 'error', {
      httpStatus: answer.status,
      upstreamRequestId: answer.headers.get('x-request-id'),
      startedAt,
      finishedAt: new Date(now),
    }),
  );
  const reservation = await deps.ledger.getReservation(input.reservationId);
  if (reservation?.state === 'held' || reservation?.state === 'unknown') {
    await deps.ledger.release(input.reservationId);
  }
  await deps.ledger.correctTokens({ leaseId: input.leaseId, actualTokens: 0 });
  await deps.ledger.releaseLease(input.leaseId, now);
  const after = retryAfterMs(answer.headers);
  // a rejected key version is marked suspect; the next attempt fails over when another version is valid
  const failover =
    answer.status === 401 && (await deps.groq.keyRejected(input.upstreamKey, keyVersion)).failover;
  return {
    kind: 'upstream_error',
    status: answer.status,
    body: errorBody(answer.status, answer.body),
    retryable: RETRYABLE_STATUS.has(answer.status) || failover,
    ...(after !== undefined ? { retryAfterMs: after } : {}),
    keyRejected: answer.status === 401,
  };
}

function parsedBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 500), type: 'api_error' } };
  }
}

/**
 * An attempt whose call went through an egress and whose run is gone (its worker died, or its answer
 * never reached it): what did the egress journal? An answer is booked as if it had just arrived; a call
 * the egress never began is fenced, so it never will be, and its hold is returned; a call without an
 * answer stays charged as unknown. With `wait`, a call the egress is still making is waited for (its
 * lease bounds the wait). Booking is idempotent, so an answer booked before (the run died after booking,
 * before its result was stored) is given again, with its body, and charged once.
 */
export async function resumeCall(
  deps: CompletionDeps,
  ref: AttemptRef,
  options: { wait: boolean },
): Promise<CallResult | { kind: 'never_sent' }> {
  const journal = new UpstreamCallJournal(deps.ledger.sql);
  for (;;) {
    const row = await journal.get(ref.reservationId);
    if (row?.state === 'answered' && row.answer) {
      const { answer } = row;
      // an attempt already given up as unknown keeps that booking (its usage row says so) until reconciled
      const reservation = await deps.ledger.getReservation(ref.reservationId);
      if (reservation?.state !== 'held' && reservation?.state !== 'settled') return { kind: 'unknown' };
      deps.log.info('upstream answer recovered from the egress journal', {
        requestId: ref.requestId,
        attempt: ref.attempt,
        reservationId: ref.reservationId,
      });
      return bookAnswer(
        deps,
        ref,
        row.keyVersion,
        { status: answer.status, headers: new Headers(answer.headers), body: parsedBody(answer.body) },
        row.createdAt,
      );
    }
    if (row?.state === 'sending') {
      // still being made: wait for it, or give up on it once its lease is over (its egress died too)
      if (row.leaseLive && options.wait) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      if (!row.leaseLive && !(await journal.abandonExpired(ref.reservationId))) continue;
    }
    if (!row) {
      // nothing journaled: a held reservation is fenced (never sent); any other was settled without it
      const reservation = await deps.ledger.getReservation(ref.reservationId);
      if (reservation?.state !== 'held') return { kind: 'unknown' };
      if (!(await journal.fence(ref.reservationId))) continue;
    }
    await deps.ledger.releaseLease(ref.leaseId, deps.now());
    if (row && row.state !== 'fenced') {
      // sending, failed or abandoned: the call may have run at Groq without an answer
      await holdAsUnknown(deps, ref);
      return { kind: 'unknown' };
    }
    // fenced: the egress never sent it and never will
    const reservation = await deps.ledger.getReservation(ref.reservationId);
    if (reservation?.state === 'held') await deps.ledger.release(ref.reservationId);
    return { kind: 'never_sent' };
  }
}

/**
 * Book an attempt whose call may have reached Groq but whose answer was lost (the worker died, the
 * connection broke, the activity timed out): the reservation stays charged and is flagged. An attempt
 * that never claimed its reservation made no call, and its hold is simply returned. One whose call went
 * through an egress is settled from the egress journal when it can be (`resumeCall`, without waiting).
 */
export async function abandonAttempt(
  deps: CompletionDeps,
  ref: AttemptRef,
): Promise<'unknown' | 'released' | 'booked'> {
  const now = deps.now();
  await deps.ledger.releaseLease(ref.leaseId, now);
  const claimedBy = await deps.ledger.callClaimedBy(ref.reservationId);
  if (claimedBy === null) {
    const reservation = await deps.ledger.getReservation(ref.reservationId);
    if (reservation?.state === 'held') await deps.ledger.release(ref.reservationId);
    return 'released';
  }
  if (claimedViaEgress(claimedBy)) {
    const resumed = await resumeCall(deps, ref, { wait: false });
    if (resumed.kind === 'never_sent') return 'released';
    return resumed.kind === 'unknown' ? 'unknown' : 'booked';
  }
  return holdAsUnknown(deps, ref);
}

/**
 * The call step: `callUpstream`, then, when asked and the completion was booked, the budget alerts in the
 * same step (a booking changes the spend the alerts read). An alert check that fails leaves
 * `alertsChecked` unset, and the workflow runs the alert step on its own, with its retries.
 */
export async function callGroq(
  deps: CompletionDeps,
  input: CallInput,
  claimed?: CallTarget,
): Promise<CallResult> {
  // the booking gives the spend the alerts read
  let spend: ReadonlyMap<string, Nanos> | undefined;
  let result = await callUpstream(deps, input, (booked) => (spend = booked), claimed);
  if (input.alerts && result.kind === 'success' && (await alertsAfterBooking(deps, input, spend))) {
    result = { ...result, alertsChecked: true };
  }
  // the booked completion (or an error the workflow will not retry) is the workflow's result
  const answer = callAnswer(result);
  if (answer) deps.handoffs?.answers.announce(input.requestId, answer);
  return result;
}

/** The client an attempt calls Groq with: its key version, and whether it goes through an egress. */
export type CallTarget = Awaited<ReturnType<CompletionDeps['groq']['callClientFor']>>;

/** Who claims an attempt's reservation for a call made with this worker's target. */
export function claimerFor(deps: CompletionDeps, target: Pick<CallTarget, 'viaEgress'>): string {
  return target.viaEgress ? `${deps.identity}${EGRESS_CLAIM_SUFFIX}` : deps.identity;
}

/**
 * Admit (when asked), claim and call, then book Groq's answer. `claimed`: the authorize step admitted the
 * attempt and claimed its reservation for a call with this target, in its own statement.
 */
async function callUpstream(
  deps: CompletionDeps,
  input: CallInput,
  onBooked: (spend: ReadonlyMap<string, Nanos>) => void,
  claimed?: CallTarget,
): Promise<CallResult> {
  const target = claimed ?? (await admitAndClaim(deps, input));
  if (!('client' in target)) return target;
  const sent = await sendClaimedCall(deps, input, target);
  return sent.kind === 'done'
    ? sent.result
    : bookAnswer(deps, input, target.version, sent.answer, sent.startedAt, onBooked);
}

/** The attempt admitted (when asked) and its reservation claimed: the target to call, or the result. */
async function admitAndClaim(deps: CompletionDeps, input: CallInput): Promise<CallTarget | CallResult> {
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
  const target = await deps.groq.callClientFor(input.upstreamKey);
  const claim = await deps.ledger.claimCall(input.reservationId, claimerFor(deps, target));
  if (!claim.claimed) {
    // claimed before by a run that is gone: through an egress, its answer may be in the journal
    if ('claimedBy' in claim && claimedViaEgress(claim.claimedBy)) {
      const resumed = await resumeCall(deps, input, { wait: true });
      return resumed.kind === 'never_sent' ? { kind: 'unknown' } : resumed;
    }
    await abandonAttempt(deps, input);
    return { kind: 'unknown' };
  }
  return target;
}

/**
 * The call of a claimed attempt: Groq's answer (a completion or an error Groq sent) to be booked, or,
 * when no answer came, what the attempt became (booked from the egress journal, or held as unknown).
 */
export async function sendClaimedCall(
  deps: CompletionDeps,
  input: CallInput,
  target: { client: Groq; version: number; viaEgress: boolean },
): Promise<{ kind: 'answer'; answer: Answer; startedAt: Date } | { kind: 'done'; result: CallResult }> {
  const { client, version, viaEgress } = target;
  const startedAt = new Date(deps.now());
  const body: Record<string, unknown> = {
    ...input.request,
    max_completion_tokens: input.maxCompletionTokens,
  };
  delete body.max_tokens;
  delete body.stream;
  delete body.stream_options;
  const journaled = viaEgress
    ? {
        headers: {
          [EGRESS_HEADERS.attempt]: input.reservationId,
          [EGRESS_HEADERS.keyVersion]: String(version),
        },
      }
    : undefined;

  try {
    const { data, response } = await client.chat.completions
      .create(
        body as unknown as Parameters<typeof client.chat.completions.create>[0] & { stream?: false },
        journaled,
      )
      .withResponse();
    return {
      kind: 'answer',
      answer: { status: response.status, headers: response.headers, body: data },
      startedAt,
    };
  } catch (error) {
    if (
      error instanceof APIError &&
      !(error instanceof APIConnectionError) &&
      error.status !== undefined &&
      !error.headers?.get(EGRESS_HEADERS.error)
    ) {
      return {
        kind: 'answer',
        answer: {
          status: error.status,
          headers: error.headers ?? new Headers(),
          body: { error: error.error },
        },
        startedAt,
      };
    }
    // no answer (connection broke, timed out): Groq may or may not have run it
    if (viaEgress) {
      // the egress may still have the answer, or know that it never sent the call
      const resumed = await resumeCall(deps, input, { wait: true });
      if (resumed.kind === 'success' || resumed.kind === 'upstream_error')
        return { kind: 'done', result: resumed };
    } else {
      await abandonAttempt(deps, input);
    }
    const result: CallResult = {
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
    return { kind: 'done', result };
  }
}
