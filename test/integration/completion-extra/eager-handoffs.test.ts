// Requests as the embedded stack runs them: the workflow starts eagerly on the worker that shares the
// gateway's connection, and the step that decides hands its decision to the gateway in-process. A
// streamed request's admission comes from the authorize step, so no `admission` update goes through the
// server; a completion's answer comes from the step that settles the workflow's result (the call step's
// booked completion or final error, the authorize step's refusal), so the gateway does not wait for the
// workflow task to complete and for the result's long poll. What a step cannot decide at once (the
// limiter is full) is left to the workflow, which answers as before.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionWorkflowId } from '../../../domain/request-ids';
import { periodOf } from '../../../ledger';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { countStatements } from '../../support/ledger-watch';
import { devServerEnv } from '../../support/temporal';
import { TEST_CONFIG, testConfig } from '../../support/test-config';

const MODEL = 'llama-3.1-8b-instant';

describe('admissions and answers handed over in-process (eager start)', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let groq: Groq;
  /** team beta's key, for requests that are not streamed (alpha's one request a minute goes to a stream) */
  let beta: Groq;
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
    beta = new Groq({ baseURL: stack.gateway!.url, apiKey: (await stack.issue('beta')).key, maxRetries: 0 });
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
    expect(stack.handoffs!.admissions.waiting).toBe(0);
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
    expect(stack.handoffs!.admissions.waiting).toBe(0);
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
    expect(stack.handoffs!.admissions.waiting).toBe(0);
  });

  it('answers completions from the call step, as booked, before the workflow completes', async () => {
    const before = stack.handoffs!.answers.delivered;
    for (const tokens of [3, 7, 11]) {
      const { data, response } = await beta.chat.completions
        .create({
          model: MODEL,
          messages: [{ role: 'user', content: `Answer [[emulator:completion_tokens=${tokens}]]` }],
          max_completion_tokens: 20,
        })
        .withResponse();
      expect(data.usage?.completion_tokens).toBe(tokens);
      const requestId = response.headers.get('x-request-id')!;
      const upstreamRequestId = response.headers.get('x-groq-request-id')!;
      // the workflow's own result is the answer the gateway gave
      await expect(
        env.client.workflow.getHandle(completionWorkflowId(requestId)).result(),
      ).resolves.toMatchObject({ ok: true, upstreamRequestId, completion: { id: data.id } });
      const billed = stack.emulator.billedCalls().filter((call) => call.request_id === upstreamRequestId);
      expect(billed).toHaveLength(1);
      expect(await stack.ledger.getReservation(`${requestId}#1`)).toMatchObject({
        state: 'settled',
        settledAmount: BigInt(billed[0]!.cost_nanos),
      });
    }
    expect(stack.handoffs!.answers.delivered - before).toBe(3);
    expect(stack.handoffs!.answers.waiting).toBe(0);
  });

  it("claims a stream's reservation for this gateway in the authorize statement once the key is known", async () => {
    // beta's key is known to the worker by now: its authorize step is one statement, which also claims
    const counter = countStatements(stack.ledger);
    let requestId: string;
    let upstreamRequestId: string;
    try {
      const { data: stream, response } = await beta.chat.completions
        .create({
          model: MODEL,
          messages: [{ role: 'user', content: 'Claimed [[emulator:completion_tokens=4]]' }],
          max_completion_tokens: 20,
          stream: true,
        })
        .withResponse();
      for await (const chunk of stream) void chunk;
      requestId = response.headers.get('x-request-id')!;
      upstreamRequestId = response.headers.get('x-groq-request-id')!;
      await env.client.workflow.getHandle(completionWorkflowId(requestId)).result();
      expect(counter.statements.filter((text) => text.includes('governor_authorize'))).toHaveLength(1);
      // no claim statement of the gateway's own
      expect(counter.statements.filter((text) => text.includes('call_claimed_by = $2'))).toEqual([]);
    } finally {
      counter.restore();
    }
    const claimedBy = await stack.ledger.callClaimedBy(`${requestId}#1`);
    expect(claimedBy).toMatch(/^test-gateway-/);
    const billed = stack.emulator.billedCalls().filter((call) => call.request_id === upstreamRequestId);
    expect(billed).toHaveLength(1);
    expect(await stack.ledger.getReservation(`${requestId}#1`)).toMatchObject({
      state: 'settled',
      settledAmount: BigInt(billed[0]!.cost_nanos),
    });
    expect(stack.handoffs!.admissions.waiting).toBe(0);
  });

  it('answers a policy refusal from the authorize step', async () => {
    const before = {
      delivered: stack.handoffs!.answers.delivered,
      billed: stack.emulator.billedCalls().length,
    };
    const refused = await groq.chat.completions
      .create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'no' }] })
      .catch((error: unknown) => error as { status?: number; error?: unknown });
    expect(refused).toMatchObject({ status: 403, error: { error: { code: 'model_not_allowed' } } });
    expect(stack.handoffs!.answers.delivered - before.delivered).toBe(1);
    expect(stack.emulator.billedCalls().length).toBe(before.billed);
  });

  it("answers Groq's error that the workflow does not retry, with Groq's message", async () => {
    const before = stack.handoffs!.answers.delivered;
    stack.emulator.injectFault({ kind: 'status', status: 400, count: 1, key: 'beta-test-gateway' });
    const failed = await beta.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'bad' }], max_completion_tokens: 20 })
      .withResponse()
      .catch((error: unknown) => error as { status?: number; headers?: Headers; error?: unknown });
    expect(failed).toMatchObject({ status: 400, error: { error: { type: 'invalid_request_error' } } });
    const requestId = (failed as { headers: Headers }).headers.get('x-request-id')!;
    await expect(
      env.client.workflow.getHandle(completionWorkflowId(requestId)).result(),
    ).resolves.toMatchObject({ ok: false, status: 400, attempts: 1 });
    expect(stack.handoffs!.answers.delivered - before).toBe(1);
    expect(await stack.ledger.getReservation(`${requestId}#1`)).toMatchObject({ state: 'released' });
  });

  it('answers from the workflow result when no step settles it (the limiter stayed full)', async () => {
    // alpha's one request a minute went to the first stream
    const before = stack.handoffs!.answers.delivered;
    const refused = await groq.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'wait' }] })
      .withResponse()
      .catch((error: unknown) => error as { status?: number; headers?: Headers; error?: unknown });
    expect(refused).toMatchObject({ status: 429, error: { error: { code: 'rate_limit_exceeded' } } });
    expect(Number((refused as { headers: Headers }).headers.get('retry-after'))).toBeGreaterThan(0);
    expect(stack.handoffs!.answers.delivered).toBe(before);
    expect(stack.handoffs!.answers.waiting).toBe(0);
  });
});
