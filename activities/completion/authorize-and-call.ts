/**
 * A non-streamed request's first attempt in one step: the authorize step (policy, reservation,
 * admission), then, when it admitted the call at once, the call step (claim, Groq, booking, alerts). On
 * the authorize step's one-statement path that statement also claims the reservation for the call.
 * One local activity instead of two saves the workflow an activation and a step's dispatch between
 * them. Whatever the authorize step does not admit at once goes back to the workflow, which waits for
 * room and calls as before. A call step that fails without a result is reported as `failed`: the
 * attempt's reservation is known, and the workflow settles it as it settles a failed call step.
 */
import { attemptRefOf, authorize } from './authorize';
import type { KeyTeams } from './authorize-fast';
import type { CompletionDeps } from './deps';
import { claimerFor, type CallTarget } from './upstream-call';
import type { AuthorizeAndCallInput, AuthorizeAndCallResult, CallInput, CallResult } from './types';

export async function authorizeAndCall(
  deps: CompletionDeps,
  input: AuthorizeAndCallInput,
  keyTeams: KeyTeams,
  call: (input: CallInput, claimed?: CallTarget) => Promise<CallResult>,
): Promise<AuthorizeAndCallResult> {
  const { request, ...authorizeInput } = input;
  // the client the call will use decides who claims it (this worker, or this worker through its egress)
  let target: CallTarget | undefined;
  const claimFor = async (upstreamKey: string) => {
    target = await deps.groq.callClientFor(upstreamKey);
    return claimerFor(deps, target);
  };
  const authorized = await authorize(deps, authorizeInput, keyTeams, claimFor);
  if (!authorized.ok || !authorized.capacity.admitted) return { authorized };
  const { claimed, ...result } = authorized;
  try {
    const made = await call(
      {
        ...attemptRefOf(authorizeInput, result),
        request,
        maxCompletionTokens: result.policy.maxCompletionTokens,
        alerts: true,
      },
      claimed ? target : undefined,
    );
    // a call asked without an admission is never refused one; were it, the workflow would call again
    return made.kind === 'not_admitted' ? { authorized: result } : { authorized: result, call: made };
  } catch (error) {
    deps.log.warn('the call step failed without a result; the workflow settles its attempt', {
      requestId: input.requestId,
      attempt: input.attempt,
      error: (error as Error).message,
    });
    return { authorized: result, call: { kind: 'failed' } };
  }
}
