// The first attempt of a non-streamed request in one step (`authorizeAndCall`), and what the workflow
// does when that step fails: it authorizes again (the same reservation) and runs the call step, which in
// the same worker gives the first run's result and from another process calls nobody. A call step that
// fails after its claim leaves the attempt to the workflow as `failed`, its reservation charged.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompletionActivities } from '../../../activities/completion';
import { attemptRefOf } from '../../../activities/completion/authorize';
import type { AuthorizeAndCallInput, CallInput } from '../../../activities/completion/types';
import { newRequestId } from '../../../client/gateway/request-id';
import { parseChatRequest } from '../../../domain/chat-request';
import { promptTokenBound, promptTokenEstimate } from '../../../domain/prompt-tokens';
import type { LedgerStore } from '../../../ledger';
import { CALL_MODEL, expectBookedOnce, workerActivities } from '../../support/call-step';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

describe('the first attempt in one step', () => {
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

  function stepInput(label: string): AuthorizeAndCallInput {
    const requestId = newRequestId();
    const parsed = parseChatRequest({
      model: CALL_MODEL,
      messages: [{ role: 'user', content: `${label} ${requestId} [[emulator:completion_tokens=7]]` }],
      max_completion_tokens: 20,
    });
    if (!parsed.ok) throw new Error(parsed.message);
    return {
      requestId,
      gatewayKeyId,
      model: CALL_MODEL,
      interactive: true,
      maxCompletionTokens: 20,
      attempt: 1,
      promptTokenBound: promptTokenBound(parsed.request.messages),
      promptTokenEstimate: promptTokenEstimate(parsed.request.messages),
      request: parsed.request,
    };
  }

  /** What the workflow runs after a failed step: the authorize step again, then the call step. */
  async function takeOver(activities: CompletionActivities, input: AuthorizeAndCallInput) {
    const { request, ...authorizeInput } = input;
    const authorized = await activities.authorize(authorizeInput);
    if (!authorized.ok) throw new Error(authorized.refusal.message);
    const call: CallInput = {
      ...attemptRefOf(authorizeInput, authorized),
      request,
      maxCompletionTokens: authorized.policy.maxCompletionTokens,
      alerts: true,
    };
    return { authorized, call, result: await activities.callGroq(call) };
  }

  it('authorizes, calls and books in one step: billed once, booked at the billed cost', async () => {
    const activities = workerActivities(stack, 'one-step-a');
    // the first request of a key goes through the separate decisions, the next through one statement
    for (const label of ['first of the key', 'known key']) {
      const input = stepInput(label);
      const step = await activities.authorizeAndCall(input);
      expect(step.authorized).toMatchObject({ ok: true, capacity: { admitted: true } });
      expect(step.call).toMatchObject({ kind: 'success', alertsChecked: true });
      if (step.call?.kind !== 'success' || !step.authorized.ok) continue;
      expect(step.call.usage.completionTokens).toBe(7);
      await expectBookedOnce(stack, attemptRefOf(input, step.authorized), step.call.upstreamRequestId);
    }
  });

  it('refuses in the step what policy refuses, and calls nobody', async () => {
    const activities = workerActivities(stack, 'one-step-b');
    const billed = stack.emulator.billedCalls().length;
    const input = { ...stepInput('refused'), model: 'llama-3.3-70b-versatile' };
    const step = await activities.authorizeAndCall(input);
    expect(step.authorized).toMatchObject({ ok: false, stage: 'policy' });
    expect(step.call).toBeUndefined();
    expect(stack.emulator.billedCalls().length).toBe(billed);
  });

  it('after a lost step, the same worker gives its result again and another calls nobody', async () => {
    const activities = workerActivities(stack, 'one-step-c');
    const input = stepInput('taken over');
    const step = await activities.authorizeAndCall(input);
    expect(step.call?.kind).toBe('success');
    const billed = stack.emulator.billedCalls().length;
    const same = await takeOver(activities, structuredClone(input));
    expect(same.authorized.ok && same.authorized.reservationId).toBe(`${input.requestId}#1`);
    expect(same.result).toEqual(step.call);
    const other = await takeOver(workerActivities(stack, 'one-step-d'), structuredClone(input));
    expect(other.result).toEqual({ kind: 'unknown' });
    expect(stack.emulator.billedCalls().length).toBe(billed);
    if (step.call?.kind === 'success') await expectBookedOnce(stack, same.call, step.call.upstreamRequestId);
  });

  it('reports a call step that failed after Groq answered as failed; the attempt stays charged', async () => {
    const failing = new Proxy(stack.ledger, {
      get(target, name) {
        if (name === 'bookCompletion') return () => Promise.reject(new Error('the ledger went away'));
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as LedgerStore;
    const activities = workerActivities(stack, 'one-step-e', { ledger: failing });
    const input = stepInput('booking lost');
    const billed = stack.emulator.billedCalls().length;
    const step = await activities.authorizeAndCall(input);
    expect(step.authorized.ok).toBe(true);
    expect(step.call).toEqual({ kind: 'failed' });
    expect(stack.emulator.billedCalls().length).toBe(billed + 1);
    // the workflow then settles the attempt as after a failed call step: claimed, so held as unknown
    if (!step.authorized.ok) return;
    const ref = attemptRefOf(input, step.authorized);
    expect(await activities.abandonAttempt(ref)).toBe('unknown');
    const reservation = await stack.ledger.getReservation(ref.reservationId);
    expect(reservation?.state).toBe('unknown');
    expect(reservation!.amount).toBeGreaterThanOrEqual(
      BigInt(stack.emulator.billedCalls().at(-1)!.cost_nanos),
    );
  });
});
