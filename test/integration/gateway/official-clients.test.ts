// The unchanged official groq-sdk and openai clients against the gateway: completions (JSON and
// streamed), models, Groq-shaped errors, x-request-id, and the ledger equal to the emulator's bill.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionWorkflowId, REQUEST_ID_PATTERN } from '../../../domain/request-ids';
import { periodOf } from '../../../ledger';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

describe('official clients through the gateway', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let alphaKey: string;
  let groq: Groq;
  let openai: OpenAI;
  const period = periodOf(new Date(), 'UTC');

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true });
    alphaKey = (await stack.issue('alpha')).key;
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: alphaKey, maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${stack.gateway!.url}/openai/v1`, apiKey: alphaKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  it('groq-sdk completes a request, with x-request-id naming the workflow', async () => {
    const { data, response } = await groq.chat.completions
      .create({
        model: 'llama-3.1-8b-instant',
        messages: [{ role: 'user', content: 'Hi from groq-sdk' }],
        max_completion_tokens: 30,
      })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toBeTruthy();
    const requestId = response.headers.get('x-request-id')!;
    expect(requestId).toMatch(REQUEST_ID_PATTERN);
    const description = await env.client.workflow.getHandle(completionWorkflowId(requestId)).describe();
    expect(description.type).toBe('governedCompletionV2');
    expect(description.status.name).toBe('COMPLETED');
  });

  it('openai completes a request', async () => {
    const completion = await openai.chat.completions.create({
      model: 'llama-3.1-8b-instant',
      messages: [{ role: 'user', content: 'Hi from openai' }],
      max_tokens: 20,
    });
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect(completion.usage?.completion_tokens).toBeLessThanOrEqual(20);
  });

  it('lists only the models the team may use', async () => {
    const models = await groq.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['llama-3.1-8b-instant']);
    const viaOpenai = await openai.models.list();
    expect(viaOpenai.data.map((model) => model.id)).toEqual(['llama-3.1-8b-instant']);
  });

  it('answers refusals in Groq error shape with the right status and code', async () => {
    // groq-sdk keeps the whole body ({"error": {...}}) on APIError.error
    const body = (error: unknown) =>
      (error as { error?: { error?: Record<string, unknown> } }).error?.error ?? {};
    const attempt = (client: Groq, body: Record<string, unknown>) =>
      client.chat.completions
        .create({
          model: 'llama-3.1-8b-instant',
          messages: [{ role: 'user', content: 'x' }],
          ...body,
        } as never)
        .then(
          () => undefined,
          (error: unknown) => error as InstanceType<typeof Groq.APIError>,
        );

    const badKey = new Groq({
      baseURL: stack.gateway!.url,
      apiKey: 'ggk_notarealkey000_' + 'x'.repeat(40),
      maxRetries: 0,
    });
    const unauthorized = await attempt(badKey, {});
    expect(unauthorized).toBeInstanceOf(Groq.AuthenticationError);
    expect(unauthorized?.headers?.get('x-request-id')).toMatch(REQUEST_ID_PATTERN);
    expect(body(unauthorized)).toMatchObject({ code: 'invalid_api_key', type: 'invalid_request_error' });

    const forbidden = await attempt(groq, { model: 'llama-3.3-70b-versatile' });
    expect(forbidden).toBeInstanceOf(Groq.PermissionDeniedError);
    expect(body(forbidden)).toMatchObject({ code: 'model_not_allowed', type: 'permission_error' });

    const tooMany = await attempt(groq, { max_completion_tokens: 100_000 });
    expect(tooMany).toBeInstanceOf(Groq.BadRequestError);
    expect(body(tooMany)).toMatchObject({ code: 'max_tokens_exceeded', param: 'max_completion_tokens' });

    const malformed = await attempt(groq, { messages: [{ role: 'user', content: 42 }] });
    expect(malformed?.status).toBe(400);
    expect(body(malformed)).toMatchObject({ code: 'invalid_request_error', param: 'messages[0].content' });
  });

  it('streams through groq-sdk and bills the stream from its final usage', async () => {
    const { data: stream, response } = await groq.chat.completions
      .create({
        model: 'llama-3.1-8b-instant',
        messages: [{ role: 'user', content: 'Stream please [[emulator:completion_tokens=25]]' }],
        max_completion_tokens: 100,
        stream: true,
      })
      .withResponse();
    let text = '';
    let usage: { completion_tokens?: number } | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = (chunk as { x_groq?: { usage?: { completion_tokens?: number } } }).x_groq?.usage ?? usage;
    }
    expect(text.trim().split(/\s+/)).toHaveLength(25);
    expect(usage?.completion_tokens).toBe(25);
    const requestId = response.headers.get('x-request-id')!;
    const result = await env.client.workflow.getHandle(completionWorkflowId(requestId)).result();
    expect(result).toMatchObject({ ok: true, usage: { completionTokens: 25 } });
    const [row] = (await stack.ledger.listUsage({ period, limit: 1000 })).filter(
      (r) => r.requestId === requestId,
    );
    expect(row).toMatchObject({ outcome: 'success', completionTokens: 25n });
  });

  it('keeps the ledger equal to the emulator bill, to the unit', async () => {
    const rows = await stack.ledger.listUsage({ period, limit: 10_000 });
    const ledgerTotal = rows.reduce((sum, row) => sum + row.costNanos, 0n);
    expect(ledgerTotal).toBe(BigInt(stack.emulator.billing().totals.cost_nanos));
    expect(ledgerTotal).toBeGreaterThan(0n);
  });
});
