// The workflow when its one step (`authorizeAndCall`) fails: it takes the attempt over with the separate
// steps. A step that failed before deciding leaves the request to `authorize` and `callGroq`, which serve
// it; a step whose result was lost after it had called Groq and booked the answer (its worker kept the
// call's result) is answered from that result by the call step: Groq called once, booked once.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizeAndCallInput } from '../../../activities/completion/types';
import { completionWorkflowId } from '../../../domain/request-ids';
import { periodOf } from '../../../ledger';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

const MODEL = 'llama-3.1-8b-instant';

describe('the workflow after its one step failed', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let groq: Groq;
  /** how the next one-step run fails: before it runs, or after it ran (its result lost) */
  let failing: 'before' | 'after' | undefined;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, {
      gateway: true,
      wrapActivities: (activities) => {
        const step = activities.authorizeAndCall;
        if (!step) throw new Error('the worker has no one-step activity');
        return {
          ...activities,
          authorizeAndCall: async (input: AuthorizeAndCallInput) => {
            const how = failing;
            failing = undefined;
            if (how === 'before') throw new Error('the step failed before it decided');
            const result = await step(input);
            if (how === 'after') throw new Error('the step ran, and its result was lost');
            return result;
          },
        };
      },
    });
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: (await stack.issue('alpha')).key, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  async function askAndCheck(label: string) {
    const billedBefore = stack.emulator.billedCalls().length;
    const { data, response } = await groq.chat.completions
      .create({
        model: MODEL,
        messages: [{ role: 'user', content: `${label} [[emulator:completion_tokens=6]]` }],
        max_completion_tokens: 20,
      })
      .withResponse();
    expect(data.usage?.completion_tokens).toBe(6);
    const requestId = response.headers.get('x-request-id')!;
    const result = await env.client.workflow.getHandle(completionWorkflowId(requestId)).result();
    expect(result).toMatchObject({ ok: true, attempts: 1 });
    // Groq was called once for the request, and that call is what the ledger booked, once
    expect(stack.emulator.billedCalls().length).toBe(billedBefore + 1);
    const billed = stack.emulator.billedCalls().at(-1)!;
    expect(await stack.ledger.getReservation(`${requestId}#1`)).toMatchObject({
      state: 'settled',
      settledAmount: BigInt(billed.cost_nanos),
    });
    const rows = (
      await stack.ledger.listUsage({ period: periodOf(new Date(), 'UTC'), limit: 10_000 })
    ).filter((row) => row.requestId === requestId);
    expect(rows.map((row) => [row.attempt, row.outcome, row.costNanos])).toEqual([
      [1, 'success', BigInt(billed.cost_nanos)],
    ]);
    return requestId;
  }

  it('serves a request whose step failed before deciding with the separate steps', async () => {
    await askAndCheck('warm the key');
    failing = 'before';
    await askAndCheck('step failed before');
    expect(failing).toBeUndefined();
  });

  it("answers a request whose step's result was lost from the call's kept result, billed once", async () => {
    failing = 'after';
    const requestId = await askAndCheck('step lost after the call');
    expect(failing).toBeUndefined();
    // the workflow ran the separate steps after the lost one
    const history = await env.client.workflow.getHandle(completionWorkflowId(requestId)).fetchHistory();
    const types = (history.events ?? [])
      .map((event) => event.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data)
      .filter((data): data is Uint8Array => data instanceof Uint8Array)
      .map(
        (data) =>
          (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type,
      )
      .filter(Boolean);
    expect(types).toEqual(['authorizeAndCall', 'authorize', 'callGroq']);
  });
});
