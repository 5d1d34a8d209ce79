// Graceful shutdown of the gateway: once close() starts, no new connection is accepted, while requests
// already in flight (waiting on a slow Groq) finish with 200 and are billed; close() resolves after them.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodOf } from '../../../ledger';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

describe('gateway graceful shutdown', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  const period = periodOf(new Date(), 'UTC');

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true });
  });

  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  it('drains in-flight requests and refuses new connections', async () => {
    const apiKey = (await stack.issue('alpha')).key;
    const groq = new Groq({ baseURL: stack.gateway!.url, apiKey, maxRetries: 0, timeout: 60_000 });
    const ask = (i: number) =>
      groq.chat.completions.create({
        model: 'llama-3.1-8b-instant',
        messages: [{ role: 'user', content: `slow ${i}` }],
        max_completion_tokens: 6,
      });
    stack.emulator.setLatency({ latencyMs: 2_000 });
    const inFlight = [0, 1, 2].map((i) => ask(i));
    // wait (no clock assumptions) until all three hold a reservation: they are inside their workflows
    for (;;) {
      const held = await stack.ledger.listReservations({ states: ['held'], period, team: 'alpha' });
      if (held.length === 3) break;
      await new Promise((done) => setTimeout(done, 20));
    }
    let closed = false;
    const closing = stack.gateway!.close(60_000).then(() => {
      closed = true;
    });
    await expect(ask(99)).rejects.toThrow(/connection/i);
    expect(closed).toBe(false);

    const answers = await Promise.all(inFlight);
    expect(answers.map((answer) => answer.object)).toEqual(Array(3).fill('chat.completion'));
    await closing;
    expect(closed).toBe(true);
    const usage = await stack.ledger.listUsage({ period, limit: 100 });
    expect(usage).toHaveLength(3);
    expect(usage.reduce((sum, row) => sum + row.costNanos, 0n)).toBe(
      BigInt(stack.emulator.billing().totals.cost_nanos),
    );
  });
});
