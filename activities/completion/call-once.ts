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

type Outcome = { ok: true; value: CallResult } | { ok: false; error: unknown };

/**
 * A finished call keeps only its outcome, never its promise or a timer: both were created inside the
 * activity and hold its async context (Temporal's activity context with its logger, metrics and abort
 * signal, about 11 KB), which would stay alive for as long as the result is kept (at 60 requests/s,
 * 7,000 contexts for 2 minutes: most of what a loaded worker's heap held). Finished outcomes are dropped
 * oldest first once older than `keepMs`, each time the step runs.
 */
export function oncePerAttempt<Extra extends unknown[]>(
  call: (input: CallInput, ...extra: Extra) => Promise<CallResult>,
  keepMs = CALL_RESULT_KEEP_MS,
  now: () => number = () => performance.now(),
): (input: CallInput, ...extra: Extra) => Promise<CallResult> {
  /** calls still running: a second run waits for the first */
  const running = new Map<string, Promise<CallResult>>();
  /** outcomes of finished calls, in the order they finished */
  const finished = new Map<string, { at: number; outcome: Outcome }>();
  const dropOld = () => {
    const oldest = now() - keepMs;
    for (const [reservationId, { at }] of finished) {
      if (at > oldest) break;
      finished.delete(reservationId);
    }
  };
  return (input, ...extra) => {
    dropOld();
    const { reservationId } = input;
    const done = finished.get(reservationId)?.outcome;
    if (done) return done.ok ? Promise.resolve(done.value) : Promise.reject(done.error);
    const known = running.get(reservationId);
    if (known) return known;
    const result = call(input, ...extra);
    running.set(reservationId, result);
    const settle = (outcome: Outcome) => {
      running.delete(reservationId);
      // not admitted: nothing was claimed or called, so a second run may try again
      if (outcome.ok && outcome.value.kind === 'not_admitted') return;
      finished.set(reservationId, { at: now(), outcome });
    };
    result.then(
      (value) => settle({ ok: true, value }),
      (error: unknown) => settle({ ok: false, error }),
    );
    return result;
  };
}
