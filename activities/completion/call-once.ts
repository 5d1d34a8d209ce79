/**
 * Local activities run at least once: when the workflow task that ran one fails or times out before its
 * result is recorded (a busy worker or server), Temporal runs the activity again. For the call step a
 * second run finds the reservation already claimed, so a call that completed and was billed would be
 * booked as unknown and the workflow would try again on a new reservation: Groq called twice, or, with
 * the budget used up, a 402 for a request that was served. Within one worker process, a second run of
 * the same attempt therefore gets the first run's result (waiting for it while it is still running).
 * Across processes (the worker died) the claim still stands guard and the attempt is booked as unknown.
 */
import type { CallInput, CallResult } from './types';

/** How long a finished call's result is kept for a second run of its activity. */
export const CALL_RESULT_KEEP_MS = 120_000;

export function oncePerAttempt<Extra extends unknown[]>(
  call: (input: CallInput, ...extra: Extra) => Promise<CallResult>,
  keepMs = CALL_RESULT_KEEP_MS,
): (input: CallInput, ...extra: Extra) => Promise<CallResult> {
  const calls = new Map<string, Promise<CallResult>>();
  return (input, ...extra) => {
    const known = calls.get(input.reservationId);
    if (known) return known;
    const result = call(input, ...extra);
    calls.set(input.reservationId, result);
    const forget = () => {
      setTimeout(() => calls.delete(input.reservationId), keepMs).unref();
    };
    result.then(
      (value) => (value.kind === 'not_admitted' ? calls.delete(input.reservationId) : forget()),
      forget,
    );
    return result;
  };
}
