// Streamed completions as the embedded stack runs them: the workflow starts eagerly on the worker that
// shares the gateway's connection, and the authorize step hands the admission to the gateway in-process,
// so no `admission` update goes through the server. A decision the step cannot make at once (the limiter
// is full) is left to the workflow, which answers the update as before.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionWorkflowId } from '../../../domain/request-ids';
import { periodOf } from '../../../ledger';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';
import { TEST_CONFIG, testConfig } from '../../support/test-config';

const MODEL = 'llama-3.1-8b-instant';

describe('streamed admissions handed over in-process (eager start)', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let groq: Groq;
  const period = periodOf(new Date(), 'UTC');

  beforeAll(async () => {
    env = await devServerEnv();
    // team alpha may send one request a minute: the second stream cannot be admitted at once
    const config = testConfig(
      TEST_CONFIG.replace(
        'rpm: 100000\n    tpm: 100000000\n    concurrency: 500\n    upstreamKey: alpha',
        'rpm: 1\n    tpm: 100000000\n    concurrency: 500\n    upstreamKey: alpha',
      ),
    );
    expect(config.teams.get('alpha')!.rpm).toBe(1);
    stack = await startCompletionStack(env, { gateway: true, eager: true, config });
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: (await stack.issue('alpha')).key, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  async function eventTypes(requestId: string): Promise<string[]> {
    const history = await env.client.workflow.getHandle(completionWorkflowId(requestId)).fetchHistory();
    return (history.events ?? []).map((event) => temporal.api.enums.v1.EventType[event.eventType!]!);
  }

  it('streams with the admission from the authorize step: no update, billed exactly', async () => {
    const { data: stream, response } = await groq.chat.completions
      .create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Eager [[emulator:completion_tokens=12]]' }],
        max_completion_tokens: 50,
        stream: true,
      })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.trim().split(/\s+/)).toHaveLength(12);
    const requestId = response.headers.get('x-request-id')!;
    const upstreamRequestId = response.headers.get('x-groq-request-id')!;
    await expect(
      env.client.workflow.getHandle(completionWorkflowId(requestId)).result(),
    ).resolves.toMatchObject({ ok: true, upstreamRequestId });

    const types = await eventTypes(requestId);
    expect(types.filter((type) => type.includes('UPDATE'))).toEqual([]);
    expect(types).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
    const billed = stack.emulator.billedCalls().filter((call) => call.request_id === upstreamRequestId);
    expect(billed).toHaveLength(1);
    const rows = (await stack.ledger.listUsage({ period, limit: 10_000 })).filter(
      (row) => row.requestId === requestId,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'success', costNanos: BigInt(billed[0]!.cost_nanos) });
    expect(await stack.ledger.getReservation(`${requestId}#1`)).toMatchObject({
      state: 'settled',
      settledAmount: BigInt(billed[0]!.cost_nanos),
    });
    expect(stack.admissions!.waiting).toBe(0);
  });

  it('answers a refusal from the authorize step: no update, nothing called', async () => {
    const before = stack.emulator.billedCalls().length;
    const refused = await groq.chat.completions
      .create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'no' }], stream: true })
      .withResponse()
      .catch((error: unknown) => error as { status?: number; headers?: Headers; error?: unknown });
    expect(refused).toMatchObject({ status: 403, error: { error: { code: 'model_not_allowed' } } });
    const requestId = (refused as { headers: Headers }).headers.get('x-request-id')!;
    expect((await eventTypes(requestId)).filter((type) => type.includes('UPDATE'))).toEqual([]);
    expect(stack.emulator.billedCalls().length).toBe(before);
    expect(stack.admissions!.waiting).toBe(0);
  });

  it('leaves a stream the limiter cannot admit at once to the workflow, which answers it', async () => {
    const refused = await groq.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'second' }], stream: true })
      .withResponse()
      .catch((error: unknown) => error as { status?: number; headers?: Headers });
    expect(refused).toMatchObject({ status: 429 });
    const headers = (refused as { headers: Headers }).headers;
    expect(Number(headers.get('retry-after'))).toBeGreaterThan(0);
    // the workflow decided: it waited for room within its patience, found none and refused (by the
    // time the gateway's update reached it, it had completed, so the answer is its result)
    const requestId = headers.get('x-request-id')!;
    await expect(
      env.client.workflow.getHandle(completionWorkflowId(requestId)).result(),
    ).resolves.toMatchObject({ ok: false, status: 429, error: { error: { code: 'rate_limit_exceeded' } } });
    expect(await stack.ledger.getReservation(`${requestId}#1`)).toMatchObject({ state: 'released' });
    expect(stack.admissions!.waiting).toBe(0);
  });
});
