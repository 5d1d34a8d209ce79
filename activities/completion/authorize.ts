/**
 * The authorize step: policy, the budget reservation of the attempt's worst case and admission by the
 * shared rate limiter. Once this worker has authorized the key, its happy path is one ledger statement
 * (authorize-fast.ts); otherwise, and for whatever that statement does not grant at once, the three
 * separate steps run in one ledger transaction, through the same code as on their own. A request refused
 * by policy or budget leaves what those steps leave (its refusal row; a refused reservation); one the
 * limiter cannot admit yet keeps its reservation, and the workflow waits for room as it does after a
 * separate admission.
 */
import { authorizeFast, type KeyTeams } from './authorize-fast';
import { leaseIdFor, reserveBudget } from './budget';
import { acquireCapacity } from './capacity';
import type { CompletionDeps } from './deps';
import { refusalAnswer } from './handoffs';
import { checkPolicy } from './policy';
import type { AttemptRef, AuthorizeInput, AuthorizeResult, ClaimFor, StreamAdmission } from './types';

export async function authorize(
  deps: CompletionDeps,
  input: AuthorizeInput,
  keyTeams: KeyTeams,
  claim?: ClaimFor,
): Promise<AuthorizeResult> {
  // a stream whose gateway waits in this process: its admission is also that gateway's claim
  const streamClaimer = input.stream ? deps.handoffs?.admissions.detailOf(input.requestId) : undefined;
  const claimFor = claim ?? (streamClaimer !== undefined ? async () => streamClaimer : undefined);
  // one ledger statement when the key is known here and everything fits at once; else the steps
  const result = (await authorizeFast(deps, input, keyTeams, claimFor)) ?? (await decide(deps, input));
  if (result.ok) keyTeams.set(input.gatewayKeyId, result.policy.team);
  if (input.stream) deps.handoffs?.admissions.announce(input.requestId, streamAdmissionOf(input, result));
  // a refusal is the workflow's result: the gateway waiting in this process can answer it now
  else if (!result.ok) deps.handoffs?.answers.announce(input.requestId, refusalAnswer(result.refusal));
  return result;
}

/**
 * The admission the workflow gives a streamed request after this step (its `admission` update): the
 * attempt to call with, or the refusal; undefined when the limiter could not admit it at once (the
 * workflow then waits for room and answers the update itself).
 */
export function streamAdmissionOf(
  input: AuthorizeInput,
  result: AuthorizeResult,
): StreamAdmission | undefined {
  if (!result.ok) {
    const { ok: _ok, ...refusal } = refusalAnswer(result.refusal);
    return { admitted: false, ...refusal };
  }
  if (!result.capacity.admitted) return undefined;
  return {
    admitted: true,
    attempt: attemptRefOf(input, result),
    maxCompletionTokens: result.policy.maxCompletionTokens,
    ...(result.claimed ? { claimed: true as const } : {}),
  };
}

/** The attempt an authorization made: its reservation, its lease and what it is charged to. */
export function attemptRefOf(
  input: AuthorizeInput,
  result: Extract<AuthorizeResult, { ok: true }>,
): AttemptRef {
  const { policy } = result;
  return {
    requestId: input.requestId,
    attempt: input.attempt,
    reservationId: result.reservationId,
    leaseId: leaseIdFor(input.requestId, input.attempt),
    team: policy.team,
    period: policy.period,
    model: policy.model,
    upstreamKey: policy.upstreamKey,
    gatewayKeyId: input.gatewayKeyId,
    batch: !input.interactive,
  };
}

function decide(deps: CompletionDeps, input: AuthorizeInput): Promise<AuthorizeResult> {
  return deps.ledger.transaction(async (ledger) => {
    const step = { ...deps, ledger };
    const policy = await checkPolicy(step, input);
    if (!policy.ok) return { ok: false, refusal: policy.refusal, stage: 'policy' };
    const reservation = await reserveBudget(step, {
      requestId: input.requestId,
      attempt: input.attempt,
      team: policy.team,
      period: policy.period,
      model: policy.model,
      promptTokenBound: input.promptTokenBound,
      maxCompletionTokens: policy.maxCompletionTokens,
      batch: !input.interactive,
    });
    if (!reservation.ok) return { ok: false, refusal: reservation.refusal, stage: 'budget' };
    const tokens = input.promptTokenEstimate + policy.maxCompletionTokens;
    const capacity = await acquireCapacity(step, {
      leaseId: leaseIdFor(input.requestId, input.attempt),
      team: policy.team,
      model: policy.model,
      tokens,
      interactive: input.interactive,
    });
    return { ok: true, policy, reservationId: reservation.reservationId, tokens, capacity };
  });
}
