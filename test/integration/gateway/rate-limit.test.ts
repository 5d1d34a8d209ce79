// A request that would wait longer than gateway.maxWaitMs for rate-limit capacity is answered
// 429 rate_limit_exceeded with retry-after; within the wait it is admitted durably, without a 429.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodOf } from '../../../ledger';
import {
  startCompletionStack,
  TEST_CONFIG,
  testConfig,
  type CompletionStack,
} from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

// team alpha may make 2 requests a minute; the gateway lets a request wait at most 1 s for room
const config = testConfig(
  TEST_CONFIG.replace(/(alpha:[\s\S]*?)rpm: 100000/, '$1rpm: 2') + '\ngateway:\n  maxWaitMs: 1000\n',
);

describe('rate limits at the gateway', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let groq: Groq;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true, config });
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: (await stack.issue('alpha')).key, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  it('answers 429 with retry-after once the team limit is used, without calling Groq', async () => {
    expect(config.teams.get('alpha')!.rpm).toBe(2);
    const ask = () =>
      groq.chat.completions
        .create({
          model: 'llama-3.1-8b-instant',
          messages: [{ role: 'user', content: 'hi' }],
          max_completion_tokens: 5,
        })
        .withResponse()
        .then(
          ({ response }) => ({ status: response.status, retryAfter: null as string | null }),
          (error: InstanceType<typeof Groq.APIError>) => ({
            status: error.status,
            retryAfter: error.headers?.get('retry-after') ?? null,
            code: (error.error as { error?: { code?: string } }).error?.code,
          }),
        );
    expect((await ask()).status).toBe(200);
    expect((await ask()).status).toBe(200);
    const calls = stack.emulator.billedCalls().length;
    const third = await ask();
    expect(third).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect(Number(third.retryAfter)).toBeGreaterThanOrEqual(1);
    // a per-minute admission counts 61 s (the 1 s guard band, docs/ledger.md), so room frees within 61 s
    expect(Number(third.retryAfter)).toBeLessThanOrEqual(61);
    expect(stack.emulator.billedCalls().length).toBe(calls);
    const refusals = await stack.ledger.refusalCounts({ period: periodOf(new Date(), 'UTC'), team: 'alpha' });
    expect(refusals.find((row) => row.reason === 'rate_limit_exceeded')?.count).toBe(1n);
    // nothing stays held for the refused request
    expect((await stack.ledger.getTeamSpend('alpha', periodOf(new Date(), 'UTC'))).held).toBe(0n);
  });
});
