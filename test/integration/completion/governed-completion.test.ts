// The governedCompletion workflow on the dev server with the real ledger, the emulator and gateway
// keys: allowed and refused requests, exact billing against the emulator's bill, Temporal-owned retries.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOf } from '../../../domain/pricing';
import { completionWorkflowId } from '../../../domain/request-ids';
import { periodOf } from '../../../ledger';
import type {
  GovernedCompletionInput,
  GovernedCompletionResult,
} from '../../../workflows/governed-completion';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { newRequestId } from '../../../client/gateway/request-id';
import { devServerEnv } from '../../support/temporal';

describe('governedCompletion', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let alphaKey: string;
  const period = periodOf(new Date(), 'UTC');

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env);
    alphaKey = (await stack.issue('alpha')).id;
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  async function complete(
    gatewayKeyId: string,
    request: Record<string, unknown>,
    extra: Partial<GovernedCompletionInput> = {},
  ): Promise<GovernedCompletionResult & { requestId: string }> {
    const requestId = newRequestId();
    const maxCompletionTokens = (request.max_completion_tokens ?? request.max_tokens) as number | undefined;
    const result: GovernedCompletionResult = await env.client.workflow.execute('governedCompletion', {
      taskQueue: stack.taskQueue,
      workflowId: completionWorkflowId(requestId),
      args: [
        {
          requestId,
          gatewayKeyId,
          request: {
            model: 'llama-3.1-8b-instant',
            messages: [{ role: 'user', content: 'Hello there' }],
            ...request,
          },
          interactive: true,
          maxWaitMs: 5000,
          ...(maxCompletionTokens !== undefined ? { maxCompletionTokens } : {}),
          ...extra,
        } satisfies GovernedCompletionInput,
      ],
    });
    return { ...result, requestId };
  }

  it('completes an allowed request and bills exactly what the emulator billed', async () => {
    const before = stack.emulator.billing().totals.cost_nanos;
    const result = await complete(alphaKey, { max_completion_tokens: 40 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const billedNow = BigInt(stack.emulator.billing().totals.cost_nanos) - BigInt(before);
    expect(BigInt(result.usage.costNanos)).toBe(billedNow);
    expect(BigInt(result.usage.costNanos)).toBe(
      costOf(stack.config.pricing, 'llama-3.1-8b-instant', {
        promptTokens: result.usage.promptTokens,
        completionTokens: result.usage.completionTokens,
      }),
    );
    const [usage] = await stack.ledger
      .listUsage({ period, team: 'alpha', limit: 100 })
      .then((rows) => rows.filter((row) => row.requestId === result.requestId));
    expect(usage).toMatchObject({ outcome: 'success', keyName: 'alpha-test-gateway', httpStatus: 200 });
    expect(usage!.costNanos).toBe(billedNow);
    const reservation = await stack.ledger.getReservation(`${result.requestId}#1`);
    expect(reservation).toMatchObject({ state: 'settled', settledAmount: billedNow });
    expect((result.completion as { object: string }).object).toBe('chat.completion');
  });

  it('uses the team cap when the request names no allowance', async () => {
    const result = await complete(alphaKey, {
      messages: [{ role: 'user', content: 'x [[emulator:completion_tokens=5000]]' }],
    });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.usage.completionTokens).toBe(256);
  });

  it.each([
    ['a model outside the allow-list', { model: 'llama-3.3-70b-versatile' }, 403, 'model_not_allowed'],
    ['more tokens than the team cap', { max_completion_tokens: 257 }, 400, 'max_tokens_exceeded'],
  ])('refuses %s without calling Groq', async (_name, request, status, code) => {
    const calls = stack.emulator.billedCalls().length;
    const result = await complete(alphaKey, request);
    expect(result).toMatchObject({ ok: false, status, error: { error: { code } } });
    expect(stack.emulator.billedCalls().length).toBe(calls);
    const refusals = await stack.ledger.refusalCounts({ period, team: 'alpha' });
    expect(refusals.find((row) => row.reason === code)?.count).toBeGreaterThanOrEqual(1);
  });

  it('refuses revoked, unknown and wrong-role keys', async () => {
    const revoked = await stack.issue('alpha');
    await stack.ledger.revokeGatewayKey(revoked.id);
    expect(await complete(revoked.id, {})).toMatchObject({
      status: 401,
      error: { error: { code: 'revoked_api_key' } },
    });
    expect(await complete('key_doesnotexist', {})).toMatchObject({
      status: 401,
      error: { error: { code: 'invalid_api_key' } },
    });
    const viewer = await stack.issue('alpha', 'viewer');
    expect(await complete(viewer.id, {})).toMatchObject({
      status: 403,
      error: { error: { code: 'permission_denied' } },
    });
  });

  it('refuses with budget_exceeded when the worst case does not fit the team budget', async () => {
    const beta = await stack.issue('beta');
    const calls = stack.emulator.billedCalls().length;
    // 1024 tokens at $0.79/1M is more than beta's $0.0005 budget
    const result = await complete(beta.id, { model: 'llama-3.3-70b-versatile', max_completion_tokens: 1024 });
    expect(result).toMatchObject({ ok: false, status: 402, error: { error: { code: 'budget_exceeded' } } });
    expect(stack.emulator.billedCalls().length).toBe(calls);
    expect((await stack.ledger.getTeamSpend('beta', period)).held).toBe(0n);
  });

  it('passes a Groq 400 through without retrying and releases the hold', async () => {
    const result = await complete(alphaKey, { logprobs: true });
    expect(result).toMatchObject({ ok: false, status: 400, attempts: 1 });
    // Groq's own message and type reach the caller, not a stand-in
    expect(result).toMatchObject({ error: { error: { type: 'invalid_request_error' } } });
    const { message } = (result as { error: { error: { message: string } } }).error.error;
    expect(message).not.toMatch(/^Groq answered/);
    const reservation = await stack.ledger.getReservation(`${result.requestId}#1`);
    expect(reservation?.state).toBe('released');
  });

  it('retries a 429 after the delay Groq asked for, with a new reservation', async () => {
    stack.emulator.injectFault({
      kind: 'status',
      count: 1,
      status: 429,
      retryAfter: 1,
      key: 'alpha-test-gateway',
    });
    const result = await complete(alphaKey, { max_completion_tokens: 10 });
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    expect((await stack.ledger.getReservation(`${result.requestId}#1`))?.state).toBe('released');
    expect((await stack.ledger.getReservation(`${result.requestId}#2`))?.state).toBe('settled');
  });

  it('retries a 5xx and gives up after maxAttempts with the upstream error', async () => {
    stack.emulator.injectFault({ kind: 'status', count: 10, status: 503, key: 'alpha-test-gateway' });
    const result = await complete(alphaKey, {}, { maxAttempts: 2 });
    stack.emulator.clearFaults();
    expect(result).toMatchObject({ ok: false, status: 503, attempts: 2 });
  });
});
