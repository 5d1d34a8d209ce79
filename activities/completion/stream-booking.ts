/**
 * Booking a streamed call that the gateway made: the workflow hands over what the gateway reported.
 * A stream that ended with Groq's usage is billed exactly; a cut stream keeps its whole reservation
 * charged and is flagged for reconciliation (what Groq billed for the part it generated is not known
 * to the unit, and the ledger never under-counts), with the tokens seen recorded on its usage row.
 */
import { costOf } from '../../domain/pricing';
import type { CompletionDeps } from './deps';
import type { AttemptRef, BilledUsage, StreamOutcome } from './types';
import { abandonAttempt } from './upstream-call';

export interface BookStreamInput {
  ref: AttemptRef;
  outcome: StreamOutcome;
  promptTokenBound: number;
}

export async function bookStream(deps: CompletionDeps, input: BookStreamInput): Promise<BilledUsage | null> {
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
      await deps.ledger.recordUsage({
        ...base,
        ...usage,
        costNanos: cost,
        httpStatus: 200,
        outcome: 'success',
      });
      await deps.ledger.settle(ref.reservationId, cost);
      await deps.ledger.correctTokens({
        leaseId: ref.leaseId,
        actualTokens: usage.promptTokens - usage.cachedTokens + usage.completionTokens,
      });
      await deps.ledger.releaseLease(ref.leaseId, now);
      return { ...usage, costNanos: cost.toString() };
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
      return null;
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
      return null;
    }
    case 'no_call':
      await abandonAttempt(deps, ref);
      return null;
  }
}
