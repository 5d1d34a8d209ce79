/**
 * Booking a streamed call that the gateway made: the workflow hands over what the gateway reported.
 * A stream that ended with Groq's usage is billed exactly; a cut stream keeps its whole reservation
 * charged and is flagged for reconciliation (what Groq billed for the part it generated is not known
 * to the unit, and the ledger never under-counts), with the tokens seen recorded on its usage row.
 * A completed stream is booked in one ledger statement, as a non-streamed completion is (the gateway
 * recorded Groq's rate-limit headers when the stream opened); `finishStream` also checks the budget
 * alerts with the spend that booking gives, so a stream's end is one step.
 */
import type { Nanos } from '../../domain/money';
import { costOf } from '../../domain/pricing';
import { alertsAfterBooking } from './alerts';
import type { CompletionDeps } from './deps';
import type { AttemptRef, BilledUsage, StreamOutcome } from './types';
import { abandonAttempt } from './upstream-call';

export interface BookStreamInput {
  ref: AttemptRef;
  outcome: StreamOutcome;
  promptTokenBound: number;
}

/** What `finishStream` gives the workflow: the billed usage of a completed stream, and whether the alerts ran. */
export interface FinishedStream {
  usage: BilledUsage | null;
  /** false when the alert check failed after the booking: the workflow runs it as its own step */
  alertsChecked: boolean;
}

/** Groq's headers were recorded by the gateway when the stream opened: the booking observes none. */
const NO_HEADERS = new Headers();

export async function bookStream(deps: CompletionDeps, input: BookStreamInput): Promise<BilledUsage | null> {
  return (await bookOutcome(deps, input)).usage;
}

/** Book the stream's outcome and check the budget alerts (`bookStream`, then `checkAlerts`, in one step). */
export async function finishStream(deps: CompletionDeps, input: BookStreamInput): Promise<FinishedStream> {
  const { usage, spend } = await bookOutcome(deps, input);
  return { usage, alertsChecked: await alertsAfterBooking(deps, input.ref, spend) };
}

async function bookOutcome(
  deps: CompletionDeps,
  input: BookStreamInput,
): Promise<{ usage: BilledUsage | null; spend?: ReadonlyMap<string, Nanos> }> {
  const { ref, outcome } = input;
  const now = deps.now();
  const base = {
    requestId: ref.requestId,
    attempt: ref.attempt,
    period: ref.period,
    team: ref.team,
    model: ref.model,
    keyName: ref.upstreamKey,
    keyVersion: outcome.keyVersion,
    gatewayKeyId: ref.gatewayKeyId,
    reservationId: ref.reservationId,
    batch: ref.batch,
    upstreamRequestId: outcome.upstreamRequestId ?? null,
    startedAt: new Date(now),
    finishedAt: new Date(now),
  };
  switch (outcome.kind) {
    case 'completed': {
      const usage = outcome.usage ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
      const cost = costOf(deps.config().pricing, ref.model, usage, { batch: ref.batch });
      // booked before (a replayed step): the booking changes nothing and reads no spend
      const booking = await deps.ledger.bookCompletion({
        reservationId: ref.reservationId,
        cost,
        usage: { ...base, ...usage, costNanos: cost, httpStatus: 200, outcome: 'success' },
        leaseId: ref.leaseId,
        actualTokens: usage.promptTokens - usage.cachedTokens + usage.completionTokens,
        model: ref.model,
        headers: NO_HEADERS,
        now,
      });
      return {
        usage: { ...usage, costNanos: cost.toString() },
        ...(booking.spend ? { spend: booking.spend } : {}),
      };
    }
    case 'cut': {
      const completionTokens = outcome.receivedChunks ?? 0;
      const seen = costOf(deps.config().pricing, ref.model, {
        promptTokens: input.promptTokenBound,
        completionTokens,
      });
      await deps.ledger.recordUsage({
        ...base,
        promptTokens: input.promptTokenBound,
        completionTokens,
        costNanos: seen,
        httpStatus: 200,
        outcome: 'cut',
      });
      const reservation = await deps.ledger.getReservation(ref.reservationId);
      if (reservation?.state === 'held') await deps.ledger.markUnknown(ref.reservationId);
      await deps.ledger.releaseLease(ref.leaseId, now);
      deps.log.warn('stream cut before its usage arrived; the reservation stays charged for reconciliation', {
        requestId: ref.requestId,
        reservationId: ref.reservationId,
      });
      return { usage: null };
    }
    case 'upstream_error': {
      await deps.ledger.recordUsage({
        ...base,
        promptTokens: 0,
        completionTokens: 0,
        costNanos: 0n,
        httpStatus: outcome.status ?? null,
        outcome: 'error',
      });
      await deps.ledger.release(ref.reservationId);
      await deps.ledger.correctTokens({ leaseId: ref.leaseId, actualTokens: 0 });
      await deps.ledger.releaseLease(ref.leaseId, now);
      return { usage: null };
    }
    case 'no_call':
      await abandonAttempt(deps, ref);
      return { usage: null };
  }
}
