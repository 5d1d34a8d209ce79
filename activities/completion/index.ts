/** The governed-completion activities, built from their dependencies. */
import { checkAlerts } from './alerts';
import { authorize } from './authorize';
import { authorizeAndCall } from './authorize-and-call';
import { KeyTeams } from './authorize-fast';
import { recordRefusal, reserveBudget } from './budget';
import { oncePerAttempt } from './call-once';
import { acquireCapacity } from './capacity';
import type { CompletionDeps } from './deps';
import { checkPolicy } from './policy';
import { bookStream, finishStream, type BookStreamInput } from './stream-booking';
import type {
  AlertsInput,
  AttemptRef,
  AuthorizeAndCallInput,
  AuthorizeInput,
  CallInput,
  CapacityInput,
  PolicyInput,
  RefusalRecord,
  ReserveInput,
} from './types';
import { abandonAttempt, callGroq, type CallTarget } from './upstream-call';

export type { CompletionDeps } from './deps';

export function createCompletionActivities(deps: CompletionDeps) {
  // a second run of the same attempt's call (its workflow task was lost) gets the first run's result
  const callOnce = oncePerAttempt((input: CallInput, claimed?: CallTarget) => callGroq(deps, input, claimed));
  // the teams of the keys authorized here, for the authorize step's one-statement path
  const keyTeams = new KeyTeams();
  return {
    checkPolicy: (input: PolicyInput) => checkPolicy(deps, input),
    authorize: (input: AuthorizeInput) => authorize(deps, input, keyTeams),
    authorizeAndCall: (input: AuthorizeAndCallInput) => authorizeAndCall(deps, input, keyTeams, callOnce),
    reserveBudget: (input: ReserveInput) => reserveBudget(deps, input),
    acquireCapacity: (input: CapacityInput) => acquireCapacity(deps, input),
    callGroq: (input: CallInput) => callOnce(input),
    abandonAttempt: (input: AttemptRef) => abandonAttempt(deps, input),
    releaseAttempt: async (input: { reservationId: string; leaseId: string }) => {
      await deps.ledger.releaseLease(input.leaseId, deps.now());
      const reservation = await deps.ledger.getReservation(input.reservationId);
      if (reservation?.state === 'held' && !(await deps.ledger.callWasClaimed(input.reservationId))) {
        await deps.ledger.release(input.reservationId);
      }
    },
    recordRefusal: (input: RefusalRecord) => recordRefusal(deps, input),
    checkAlerts: (input: AlertsInput) => checkAlerts(deps, input),
    bookStream: (input: BookStreamInput) => bookStream(deps, input),
    finishStream: (input: BookStreamInput) => finishStream(deps, input),
  };
}

export type CompletionActivities = ReturnType<typeof createCompletionActivities>;
