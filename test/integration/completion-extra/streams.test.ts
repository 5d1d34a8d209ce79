// Streamed completions through the gateway, billed against the emulator's own bill: a stream read to the
// end is booked at exactly what the emulator billed; a caller that hangs up mid-stream is still billed
// exactly (the gateway reads the upstream stream to its end); a stream cut upstream is never booked as
// zero: its whole reservation stays charged as unknown, above what the emulator billed for the part sent.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionWorkflowId } from '../../../domain/request-ids';
import type { BilledCall } from '../../../emulator/billing';
import { periodOf, type UsageRecord } from '../../../ledger';
import type { GovernedCompletionResult } from '../../../workflows/governed-completion';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

const MODEL = 'llama-3.1-8b-instant';

describe('streamed completions are billed exactly', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let gatewayKey: string;
  let groq: Groq;
  const period = periodOf(new Date(), 'UTC');

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true });
    gatewayKey = (await stack.issue('alpha')).key;
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: gatewayKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  async function workflowResult(requestId: string): Promise<GovernedCompletionResult> {
    return env.client.workflow.getHandle(completionWorkflowId(requestId)).result();
  }

  async function usageRows(requestId: string): Promise<UsageRecord[]> {
    const rows = await stack.ledger.listUsage({ period, limit: 10_000 });
    return rows.filter((row) => row.requestId === requestId);
  }

  function billedCall(upstreamRequestId: string): BilledCall {
    const calls = stack.emulator.billedCalls().filter((call) => call.request_id === upstreamRequestId);
    expect(calls).toHaveLength(1);
    return calls[0]!;
  }

  it('bills a stream read to its end at exactly the emulator bill, and settles its reservation', async () => {
    const { data: stream, response } = await groq.chat.completions
      .create({
        model: MODEL,
        messages: [{ role: 'user', content: 'A full stream [[emulator:completion_tokens=33]]' }],
        max_completion_tokens: 100,
        stream: true,
      })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.trim().split(/\s+/)).toHaveLength(33);
    const requestId = response.headers.get('x-request-id')!;
    const upstreamRequestId = response.headers.get('x-groq-request-id')!;
    expect(upstreamRequestId).toBeTruthy();

    const result = await workflowResult(requestId);
    expect(result).toMatchObject({ ok: true, upstreamRequestId });

    const call = billedCall(upstreamRequestId);
    expect(call).toMatchObject({ stream: true, cut: false, completion_tokens: 33 });
    const [row, ...more] = await usageRows(requestId);
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      outcome: 'success',
      upstreamRequestId,
      promptTokens: BigInt(call.prompt_tokens),
      completionTokens: 33n,
      costNanos: BigInt(call.cost_nanos),
    });
    const reservation = await stack.ledger.getReservation(`${requestId}#1`);
    expect(reservation).toMatchObject({ state: 'settled', settledAmount: BigInt(call.cost_nanos) });
  });

  it('still bills exactly what the emulator billed when the caller hangs up mid-stream', async () => {
    // tokens come slowly, so the caller is surely gone long before the stream ends
    stack.emulator.setLatency({ perTokenMs: 25 });
    const controller = new AbortController();
    let requestId: string;
    let received = '';
    try {
      const response = await fetch(`${stack.gateway!.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: MODEL,
          messages: [{ role: 'user', content: 'Hang up on me [[emulator:completion_tokens=80]]' }],
          max_completion_tokens: 100,
          stream: true,
        }),
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      requestId = response.headers.get('x-request-id')!;
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      // the role chunk and a few tokens
      while ((received.match(/^data: /gm) ?? []).length < 4) {
        const { value, done } = await reader.read();
        if (done) break;
        received += decoder.decode(value, { stream: true });
      }
      controller.abort();
      await reader.read().catch(() => undefined);
    } finally {
      stack.emulator.setLatency({ perTokenMs: 0 });
    }
    expect(received).not.toContain('[DONE]');

    const result = await workflowResult(requestId);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const call = billedCall(result.upstreamRequestId!);
    // the gateway read the whole stream: the emulator billed every token, not only what the caller saw
    expect(call).toMatchObject({ stream: true, cut: false, completion_tokens: 80 });
    const [row, ...more] = await usageRows(requestId);
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      outcome: 'success',
      completionTokens: 80n,
      costNanos: BigInt(call.cost_nanos),
    });
    const reservation = await stack.ledger.getReservation(`${requestId}#1`);
    expect(reservation).toMatchObject({ state: 'settled', settledAmount: BigInt(call.cost_nanos) });
  });

  it('never books a stream cut upstream as zero: the reservation stays charged as unknown', async () => {
    const before = await stack.ledger.getTeamSpend('alpha', period);
    stack.emulator.injectFault({ kind: 'cut_stream', afterChunks: 3, key: 'alpha-test-gateway' });
    const response = await fetch(`${stack.gateway!.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'Cut me short [[emulator:completion_tokens=50]]' }],
        max_completion_tokens: 100,
        stream: true,
      }),
    });
    expect(response.status).toBe(200);
    const requestId = response.headers.get('x-request-id')!;
    const upstreamRequestId = response.headers.get('x-groq-request-id')!;
    const body = await response.text();
    expect(body).not.toContain('[DONE]');
    expect(stack.emulator.faults()).toEqual([]);

    const result = await workflowResult(requestId);
    expect(result.ok).toBe(false);

    const call = billedCall(upstreamRequestId);
    expect(call).toMatchObject({ stream: true, cut: true });
    expect(BigInt(call.cost_nanos)).toBeGreaterThan(0n);

    const reservation = await stack.ledger.getReservation(`${requestId}#1`);
    expect(reservation?.state).toBe('unknown');
    expect(reservation!.amount).toBeGreaterThanOrEqual(BigInt(call.cost_nanos));

    const after = await stack.ledger.getTeamSpend('alpha', period);
    expect(after.held - before.held).toBe(reservation!.amount);
    expect(after.unknown - before.unknown).toBe(reservation!.amount);
    expect(after.committed).toBe(before.committed);

    const [row, ...more] = await usageRows(requestId);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ outcome: 'cut', upstreamRequestId });
    // the row records what the gateway saw, never less than what Groq billed for the part it sent
    expect(row!.completionTokens).toBe(BigInt(call.completion_tokens));
    expect(row!.costNanos).toBeGreaterThanOrEqual(BigInt(call.cost_nanos));
  });
});
