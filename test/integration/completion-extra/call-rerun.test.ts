// The call step run twice for one attempt, as Temporal does with a local activity whose workflow task
// was lost before its result was recorded (found by budget-concurrency.test.ts under load: requests that
// Groq served and the ledger billed were answered 402, their attempt taken for unknown and retried on a
// budget that was full). A second run in the same worker gets the first run's result, whether that run
// has finished or is still going, and Groq is called once; a run in another process still finds the
// reservation claimed and calls nobody.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompletionActivities, type CompletionActivities } from '../../../activities/completion';
import type { CallInput } from '../../../activities/completion/types';
import { createGroqClientFactory } from '../../../activities/groq-client';
import { staticKeyResolver } from '../../../activities/upstream-keys';
import { parseChatRequest } from '../../../domain/chat-request';
import { promptTokenBound } from '../../../domain/prompt-tokens';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { newRequestId } from '../../../client/gateway/request-id';
import { devServerEnv } from '../../support/temporal';

const MODEL = 'llama-3.1-8b-instant';

describe('the call step run twice for one attempt', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let gatewayKeyId: string;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env);
    gatewayKeyId = (await stack.issue('alpha')).id;
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  /** A worker's completion activities, as `createActivities` builds them, on the stack's ledger and emulator. */
  function workerActivities(identity: string): CompletionActivities {
    const groq = createGroqClientFactory({
      baseURL: stack.emulator.url,
      resolver: staticKeyResolver(new Map(Object.entries(stack.emulator.addedKeys))),
    });
    return createCompletionActivities({
      ledger: stack.ledger,
      config: () => stack.config,
      groq,
      alerts: { notify: async () => undefined },
      log: { info: () => undefined, warn: () => undefined },
      now: Date.now,
      identity,
    });
  }

  /** The steps before the call, as the workflow runs them: policy, reservation, admission. */
  async function attempt(activities: CompletionActivities): Promise<CallInput> {
    const requestId = newRequestId();
    const parsed = parseChatRequest({
      model: MODEL,
      messages: [{ role: 'user', content: `Run me once ${requestId} [[emulator:completion_tokens=12]]` }],
      max_completion_tokens: 20,
    });
    if (!parsed.ok) throw new Error(parsed.message);
    const policy = await activities.checkPolicy({
      requestId,
      gatewayKeyId,
      model: MODEL,
      interactive: true,
      maxCompletionTokens: 20,
    });
    if (!policy.ok) throw new Error(policy.refusal.message);
    const reservation = await activities.reserveBudget({
      requestId,
      attempt: 1,
      team: policy.team,
      period: policy.period,
      model: MODEL,
      promptTokenBound: promptTokenBound(parsed.request.messages),
      maxCompletionTokens: 20,
      batch: false,
    });
    if (!reservation.ok) throw new Error(reservation.refusal.message);
    const leaseId = `${requestId}#1`;
    const capacity = await activities.acquireCapacity({
      leaseId,
      team: policy.team,
      model: MODEL,
      tokens: 100,
      interactive: true,
    });
    expect(capacity.admitted).toBe(true);
    return {
      requestId,
      attempt: 1,
      reservationId: reservation.reservationId,
      leaseId,
      team: policy.team,
      period: policy.period,
      model: MODEL,
      upstreamKey: policy.upstreamKey,
      gatewayKeyId,
      batch: false,
      request: parsed.request,
      maxCompletionTokens: 20,
    };
  }

  async function bookedOnce(input: CallInput, upstreamRequestId: string | null) {
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

  it('gives a second run after the first finished the first run result, and calls Groq once', async () => {
    const activities = workerActivities('rerun-worker-a');
    const input = await attempt(activities);
    const billed = stack.emulator.billedCalls().length;
    const first = await activities.callGroq(input);
    expect(first.kind).toBe('success');
    const second = await activities.callGroq(structuredClone(input));
    expect(second).toEqual(first);
    expect(stack.emulator.billedCalls().length).toBe(billed + 1);
    if (first.kind === 'success') await bookedOnce(input, first.upstreamRequestId);
  });

  it('gives a second run that starts while the first is still calling the same result', async () => {
    const activities = workerActivities('rerun-worker-b');
    const input = await attempt(activities);
    const billed = stack.emulator.billedCalls().length;
    stack.emulator.setLatency({ latencyMs: 300 });
    try {
      const [first, second] = await Promise.all([
        activities.callGroq(input),
        activities.callGroq(structuredClone(input)),
      ]);
      expect(first.kind).toBe('success');
      expect(second).toEqual(first);
      if (first.kind === 'success') await bookedOnce(input, first.upstreamRequestId);
    } finally {
      stack.emulator.setLatency({ latencyMs: 0 });
    }
    expect(stack.emulator.billedCalls().length).toBe(billed + 1);
  });

  it('still refuses to call twice on one reservation from another process: that run is unknown', async () => {
    const first = workerActivities('rerun-worker-c');
    const input = await attempt(first);
    const done = await first.callGroq(input);
    expect(done.kind).toBe('success');
    const billed = stack.emulator.billedCalls().length;
    const other = workerActivities('rerun-worker-d');
    expect(await other.callGroq(structuredClone(input))).toEqual({ kind: 'unknown' });
    expect(stack.emulator.billedCalls().length).toBe(billed);
    // the completed booking stands: settled, one success row
    if (done.kind === 'success') await bookedOnce(input, done.upstreamRequestId);
  });
});
