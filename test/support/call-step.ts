/**
 * The completion call step driven by hand, for tests of what happens around one call: a worker's
 * completion activities on a stack's ledger and emulator, the steps before the call as the workflow runs
 * them, and the check that an attempt was billed once and booked once at the billed cost.
 */
import { expect } from 'vitest';
import { createCompletionActivities, type CompletionActivities } from '../../activities/completion';
import type { CallInput } from '../../activities/completion/types';
import { createGroqClientFactory, type EgressRoute } from '../../activities/groq-client';
import { staticKeyResolver } from '../../activities/upstream-keys';
import { newRequestId } from '../../client/gateway/request-id';
import { parseChatRequest } from '../../domain/chat-request';
import { promptTokenBound } from '../../domain/prompt-tokens';
import type { CompletionStack } from './completion-stack';

export const CALL_MODEL = 'llama-3.1-8b-instant';

/** A worker's completion activities, as `createActivities` builds them (through `egress` when given). */
export function workerActivities(
  stack: CompletionStack,
  identity: string,
  options: { egress?: EgressRoute; timeoutMs?: number; ledger?: CompletionStack['ledger'] } = {},
): CompletionActivities {
  const groq = createGroqClientFactory({
    baseURL: stack.emulator.url,
    resolver: staticKeyResolver(new Map(Object.entries(stack.emulator.addedKeys))),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.egress ? { egress: options.egress } : {}),
  });
  return createCompletionActivities({
    ledger: options.ledger ?? stack.ledger,
    config: () => stack.config,
    groq,
    alerts: { notify: async () => undefined },
    log: { info: () => undefined, warn: () => undefined },
    now: Date.now,
    identity,
  });
}

/** The steps before the call, as the workflow runs them: policy, reservation and (with `admit`) admission. */
export async function prepareAttempt(
  activities: CompletionActivities,
  gatewayKeyId: string,
  options: { label: string; admit: boolean },
): Promise<CallInput> {
  const requestId = newRequestId();
  const parsed = parseChatRequest({
    model: CALL_MODEL,
    messages: [{ role: 'user', content: `${options.label} ${requestId} [[emulator:completion_tokens=12]]` }],
    max_completion_tokens: 20,
  });
  if (!parsed.ok) throw new Error(parsed.message);
  const policy = await activities.checkPolicy({
    requestId,
    gatewayKeyId,
    model: CALL_MODEL,
    interactive: true,
    maxCompletionTokens: 20,
  });
  if (!policy.ok) throw new Error(policy.refusal.message);
  const reservation = await activities.reserveBudget({
    requestId,
    attempt: 1,
    team: policy.team,
    period: policy.period,
    model: CALL_MODEL,
    promptTokenBound: promptTokenBound(parsed.request.messages),
    maxCompletionTokens: 20,
    batch: false,
  });
  if (!reservation.ok) throw new Error(reservation.refusal.message);
  const leaseId = `${requestId}#1`;
  if (options.admit) {
    const capacity = await activities.acquireCapacity({
      leaseId,
      team: policy.team,
      model: CALL_MODEL,
      tokens: 100,
      interactive: true,
    });
    expect(capacity.admitted).toBe(true);
  }
  return {
    requestId,
    attempt: 1,
    reservationId: reservation.reservationId,
    leaseId,
    team: policy.team,
    period: policy.period,
    model: CALL_MODEL,
    upstreamKey: policy.upstreamKey,
    gatewayKeyId,
    batch: false,
    request: parsed.request,
    maxCompletionTokens: 20,
  };
}

/** Groq billed the attempt's call once, and the ledger booked it once, settled at exactly that cost. */
export async function expectBookedOnce(
  stack: CompletionStack,
  input: Pick<CallInput, 'reservationId' | 'requestId' | 'period'>,
  upstreamRequestId: string | null,
): Promise<void> {
  const calls = stack.emulator.billedCalls().filter((call) => call.request_id === upstreamRequestId);
  expect(calls).toHaveLength(1);
  const reservation = await stack.ledger.getReservation(input.reservationId);
  expect(reservation).toMatchObject({ state: 'settled', settledAmount: BigInt(calls[0]!.cost_nanos) });
  const rows = (await stack.ledger.listUsage({ period: input.period, limit: 10_000 })).filter(
    (row) => row.requestId === input.requestId,
  );
  expect(rows.map((row) => [row.outcome, row.costNanos])).toEqual([
    ['success', BigInt(calls[0]!.cost_nanos)],
  ]);
}
