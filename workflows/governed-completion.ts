/**
 * `governedCompletionV2` (and `governedCompletion`, the same steps behind patches): one workflow per chat
 * completion request. Durable steps, each an activity:
 * policy, then per attempt a budget reservation, admission by the shared rate limiter (waiting
 * durably while the limits are full), the Groq call with usage booked at exact cost, and finally the
 * budget alerts. Temporal owns retries: the SDK never retries, this loop does, each attempt with its
 * own reservation so an attempt of unknown outcome stays charged.
 */
import type { Duration } from '@temporalio/common';
import {
  allHandlersFinished,
  condition,
  patched,
  proxyLocalActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { CompletionActivities } from '../activities/completion';
import type { AuthorizeResult, BilledUsage, MadeCall } from '../activities/completion/types';
import { refusalBody, refusalStatus, type ApiErrorBody, type Refusal } from '../domain/api-errors';
import type { ChatRequest } from '../domain/chat-request';
import { promptTokenBound, promptTokenEstimate } from '../domain/prompt-tokens';
import {
  admissionUpdate,
  streamFinishedSignal,
  type StreamAdmission,
  type StreamOutcome,
} from './governed-completion-messages';

export interface GovernedCompletionInput {
  requestId: string;
  /** the gateway key's id (never its secret) */
  gatewayKeyId: string;
  request: ChatRequest;
  /** the allowance the caller asked for (max_completion_tokens or max_tokens) */
  maxCompletionTokens?: number;
  /** false for batch items: they use batches.create, the batch price and 80% of every rate limit */
  interactive: boolean;
  /** how long the request may wait for rate-limit capacity before it is refused with a 429 */
  maxWaitMs: number;
  /** upstream attempts before giving up (default 4; a stream has one) */
  maxAttempts?: number;
  /**
   * the gateway streams from Groq itself: it learns the admission through the `admission` update and
   * reports the outcome with the `streamFinished` signal
   */
  stream?: boolean;
}

/**
 * Since this patch the first attempt's policy, reservation and admission are one step (`authorize`) and
 * a completion's alerts are checked in its call step: two local activities on the happy path instead of
 * four. Histories from before it replay through the separate steps.
 */
export const TWO_STEP_PATCH = 'governed-completion-two-steps';

/**
 * Since this patch a stream's end is one step (`finishStream`: the booking, then the budget alerts with
 * the spend it gives) instead of two (`bookStream`, `checkAlerts`). Histories from before it replay
 * through the two steps.
 */
export const STREAM_FINISH_PATCH = 'governed-completion-stream-finish';

/**
 * Since this patch a non-streamed request's first attempt is one step when the authorize step admits it
 * at once (`authorizeAndCall`: the authorize step, then the call step): one local activity on the happy
 * path instead of two. It implies the two patches before it, which a workflow that takes it no longer
 * records (each patch costs two history events: its marker and the search attribute that lists the
 * patches). Histories from before it replay through the two steps and their patches.
 */
export const ONE_STEP_PATCH = 'governed-completion-one-step';

/**
 * Which steps a run takes. `governedCompletion` asks `patched()` at each point where its steps changed, so
 * its histories from before each patch replay through the older steps, and a new run records each patch
 * it takes (a marker and a search-attribute update: two history events and a visibility write on the
 * server). `governedCompletionV2`, the type the gateway starts, takes today's steps without asking: its
 * histories carry no patch. `governedCompletion` stays registered for the runs started before it.
 */
interface Shape {
  oneStep(): boolean;
  twoSteps(): boolean;
  streamFinish(): boolean;
}

const PATCHED: Shape = {
  oneStep: () => patched(ONE_STEP_PATCH),
  twoSteps: () => patched(TWO_STEP_PATCH),
  streamFinish: () => patched(STREAM_FINISH_PATCH),
};

const CURRENT: Shape = { oneStep: () => true, twoSteps: () => true, streamFinish: () => true };

/** How long a stream may run before its outcome is taken as unknown (the gateway died). */
const STREAM_DEADLINE = '15 minutes';

export type GovernedCompletionResult =
  | {
      ok: true;
      completion: Record<string, unknown>;
      usage: BilledUsage;
      team: string;
      keyName: string;
      keyVersion: number;
      attempts: number;
      upstreamRequestId: string | null;
    }
  | { ok: false; status: number; error: ApiErrorBody; retryAfterSeconds?: number; attempts: number };

const quick = proxyLocalActivities<CompletionActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds', maximumAttempts: 10 },
});

// The call is never retried by Temporal itself: a retry needs a new reservation and a new admission,
// which this workflow's attempt loop provides.
const upstream = proxyLocalActivities<CompletionActivities>({
  startToCloseTimeout: '75 seconds',
  retry: { maximumAttempts: 1 },
});

/** The first attempt's call as the one-step path gives it. */
type FirstCall = MadeCall | { kind: 'failed' };

function refused(refusal: Refusal, attempts: number): GovernedCompletionResult {
  return {
    ok: false,
    status: refusalStatus(refusal.code),
    error: refusalBody(refusal),
    ...(refusal.retryAfterSeconds !== undefined ? { retryAfterSeconds: refusal.retryAfterSeconds } : {}),
    attempts,
  };
}

const UPSTREAM_LOST = {
  ok: false as const,
  status: 502,
  error: {
    error: { message: 'The upstream did not answer.', type: 'api_error', code: 'upstream_unreachable' },
  },
};

function backoff(attempt: number): Duration {
  return Math.min(8000, 500 * 2 ** (attempt - 1));
}

/** A governed completion as the gateway starts it: today's steps, no patch markers. */
export async function governedCompletionV2(
  input: GovernedCompletionInput,
): Promise<GovernedCompletionResult> {
  return governedRun(input, CURRENT);
}

/** A governed completion started before `governedCompletionV2`: the same steps, each behind its patch. */
export async function governedCompletion(input: GovernedCompletionInput): Promise<GovernedCompletionResult> {
  return governedRun(input, PATCHED);
}

async function governedRun(input: GovernedCompletionInput, shape: Shape): Promise<GovernedCompletionResult> {
  let admission: StreamAdmission | undefined;
  let streamOutcome: StreamOutcome | undefined;
  if (input.stream) {
    setHandler(admissionUpdate, async () => {
      await condition(() => admission !== undefined);
      return admission!;
    });
    setHandler(streamFinishedSignal, (outcome) => {
      streamOutcome ??= outcome;
    });
  }
  const result = await govern(
    input,
    shape,
    (value) => (admission = value),
    () => streamOutcome,
  );
  if (input.stream && admission === undefined && !result.ok) {
    admission = {
      admitted: false,
      status: result.status,
      error: result.error,
      ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}),
    };
  }
  // let the admission update's answer go out before the workflow completes
  await condition(allHandlersFinished);
  return result;
}

async function govern(
  input: GovernedCompletionInput,
  shape: Shape,
  admit: (admission: StreamAdmission) => void,
  streamOutcome: () => StreamOutcome | undefined,
): Promise<GovernedCompletionResult> {
  const { requestId } = input;
  const policyInput = {
    requestId,
    gatewayKeyId: input.gatewayKeyId,
    model: input.request.model,
    interactive: input.interactive,
    ...(input.maxCompletionTokens !== undefined ? { maxCompletionTokens: input.maxCompletionTokens } : {}),
  };
  const bound = promptTokenBound(input.request.messages, input.request.tools);
  const oneStep = shape.oneStep();
  const twoSteps = oneStep || shape.twoSteps();
  const authorizeInput = {
    ...policyInput,
    ...(input.stream ? { stream: true } : {}),
    attempt: 1,
    promptTokenBound: bound,
    promptTokenEstimate: promptTokenEstimate(input.request.messages, input.request.tools),
  };
  // the first attempt's reservation and admission, when the authorize step made them
  let first: Extract<AuthorizeResult, { ok: true }> | undefined;
  // the first attempt's call, when the authorize step admitted it and called in the same step
  let firstCall: FirstCall | undefined;
  if (oneStep && !input.stream) {
    try {
      const step = await upstream.authorizeAndCall({ ...authorizeInput, request: input.request });
      if (!step.authorized.ok) return refused(step.authorized.refusal, 0);
      first = step.authorized;
      firstCall = step.call;
    } catch {
      // the step failed (its worker died, it timed out): the separate steps below take the attempt over;
      // the authorize step is idempotent and the call step knows a call this attempt already claimed
    }
  }
  if (twoSteps && !first) {
    const authorized = await quick.authorize(authorizeInput);
    if (!authorized.ok) return refused(authorized.refusal, 0);
    first = authorized;
  }
  const policy = first ? first.policy : await quick.checkPolicy(policyInput);
  if (!policy.ok) return refused(policy.refusal, 0);

  const { team, model, period, maxCompletionTokens, upstreamKey } = policy;
  const estimate = promptTokenEstimate(input.request.messages, input.request.tools) + maxCompletionTokens;
  const maxAttempts = input.stream ? 1 : (input.maxAttempts ?? 4);
  const started = Date.now();
  let lastError: GovernedCompletionResult | undefined;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    // the authorize step made the first attempt's reservation and asked for its admission
    const prepared = attempt === 1 ? first : undefined;
    const reservation = prepared
      ? { ok: true as const, reservationId: prepared.reservationId }
      : await quick.reserveBudget({
          requestId,
          attempt,
          team,
          period,
          model,
          promptTokenBound: bound,
          maxCompletionTokens,
          batch: !input.interactive,
        });
    if (!reservation.ok) return refused(reservation.refusal, attempt - 1);
    let admitted = prepared?.capacity.admitted === true;
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
      batch: !input.interactive,
    };

    // No room under the limits yet: wait durably, within the request's patience, or refuse with a 429.
    const waitForRoom = async (
      retryAfterMs: number | null,
    ): Promise<GovernedCompletionResult | undefined> => {
      const waited = Date.now() - started;
      if (retryAfterMs !== null && waited + retryAfterMs <= input.maxWaitMs) {
        await sleep(Math.max(50, retryAfterMs));
        return undefined;
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
    };

    if (input.stream) {
      // the gateway calls right after the admission update, so the stream is admitted here
      if (prepared && !prepared.capacity.admitted) {
        const refusal = await waitForRoom(prepared.capacity.retryAfterMs);
        if (refusal) return refusal;
      }
      while (!admitted) {
        const capacity = await quick.acquireCapacity({
          leaseId,
          team,
          model,
          tokens: estimate,
          interactive: input.interactive,
        });
        admitted = capacity.admitted;
        if (capacity.admitted) break;
        const refusal = await waitForRoom(capacity.retryAfterMs);
        if (refusal) return refusal;
      }
      admit({ admitted: true, attempt: ref, maxCompletionTokens });
      const finished = await condition(() => streamOutcome() !== undefined, STREAM_DEADLINE);
      if (!finished) {
        await quick.abandonAttempt(ref);
        return { ...UPSTREAM_LOST, attempts: attempt };
      }
      const outcome = streamOutcome()!;
      const booking = { ref, outcome, promptTokenBound: bound };
      let usage;
      if (oneStep || shape.streamFinish()) {
        const finished = await quick.finishStream(booking);
        usage = finished.usage;
        if (!finished.alertsChecked) await quick.checkAlerts({ team, period });
      } else {
        usage = await quick.bookStream(booking);
        await quick.checkAlerts({ team, period });
      }
      if (outcome.kind === 'completed' && usage) {
        return {
          ok: true,
          completion: {},
          usage,
          team,
          keyName: upstreamKey,
          keyVersion: outcome.keyVersion,
          attempts: attempt,
          upstreamRequestId: outcome.upstreamRequestId ?? null,
        };
      }
      return { ...UPSTREAM_LOST, status: outcome.status ?? 502, attempts: attempt };
    }

    // the call admits itself against the rate limits right before calling Groq
    const given = attempt === 1 ? firstCall : undefined;
    let call: MadeCall | undefined = given?.kind === 'failed' ? undefined : given;
    try {
      if (given?.kind === 'failed') throw new Error('the call step failed without a result');
      if (!call && prepared && !prepared.capacity.admitted) {
        const refusal = await waitForRoom(prepared.capacity.retryAfterMs);
        if (refusal) return refusal;
      }
      while (!call) {
        const made = await upstream.callGroq({
          ...ref,
          request: input.request,
          maxCompletionTokens,
          // a call admitted by the authorize step calls at once; any other admits itself first
          ...(admitted ? {} : { admission: { tokens: estimate, interactive: input.interactive } }),
          ...(twoSteps ? { alerts: true } : {}),
        });
        if (made.kind !== 'not_admitted') call = made;
        else {
          const refusal = await waitForRoom(made.retryAfterMs);
          if (refusal) return refusal;
        }
      }
    } catch {
      // the call's activity failed without an answer (timed out, its worker died): outcome unknown
      await quick.abandonAttempt(ref);
      lastError = { ...UPSTREAM_LOST, attempts: attempt };
      await sleep(backoff(attempt));
      continue;
    }

    if (call.kind === 'success') {
      if (!call.alertsChecked) await quick.checkAlerts({ team, period });
      return {
        ok: true,
        completion: call.completion,
        usage: call.usage,
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
  return lastError ?? { ...UPSTREAM_LOST, attempts: maxAttempts };
}
