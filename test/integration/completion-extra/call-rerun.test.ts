// The call step run twice for one attempt, as Temporal does with a local activity whose workflow task
// was lost before its result was recorded (found by budget-concurrency.test.ts under load: requests that
// Groq served and the ledger billed were answered 402, their attempt taken for unknown and retried on a
// budget that was full). A second run in the same worker gets the first run's result, whether that run
// has finished or is still going, and Groq is called once; a run in another process still finds the
// reservation claimed and calls nobody.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompletionActivities } from '../../../activities/completion';
import type { CallInput } from '../../../activities/completion/types';
import { expectBookedOnce, prepareAttempt, workerActivities as workerOf } from '../../support/call-step';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

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

  const workerActivities = (identity: string) => workerOf(stack, identity);
  const attempt = (activities: CompletionActivities) =>
    prepareAttempt(activities, gatewayKeyId, { label: 'Run me once', admit: true });
  const bookedOnce = (input: CallInput, upstreamRequestId: string | null) =>
    expectBookedOnce(stack, input, upstreamRequestId);

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
