// Operations endpoints on a real stack: /healthz, /readyz (ledger and Temporal checked, 503 when one is
// gone), and /metrics (org-level keys only) whose ledger figures equal the ledger and the emulator's bill.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readiness } from '../../../client/gateway/readiness';
import { openLedger, periodOf } from '../../../ledger';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { expectGroqError, probe } from '../../support/http-probe';
import { devServerEnv } from '../../support/temporal';

/** The value of one sample of a Prometheus text exposition, found by name and exact labels. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...match[2]!.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe('operations endpoints', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let url: string;
  let member: string;
  let orgViewer: string;
  const period = periodOf(new Date(), 'UTC');

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true });
    url = stack.gateway!.url;
    member = (await stack.issue('alpha')).key;
    orgViewer = (await stack.issue(null, 'viewer')).key;
    const groq = new Groq({ baseURL: url, apiKey: member, maxRetries: 0 });
    for (let i = 0; i < 3; i += 1)
      await groq.chat.completions.create({
        model: 'llama-3.1-8b-instant',
        messages: [{ role: 'user', content: `hello ${i}` }],
        max_completion_tokens: 12,
      });
    await groq.chat.completions
      .create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'no' }] })
      .catch(() => undefined);
  });

  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  it('answers /healthz and /readyz without a key', async () => {
    const health = await probe(url, { method: 'GET', path: '/healthz' });
    expect(health.status).toBe(200);
    const ready = await probe(url, { method: 'GET', path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({
      ok: true,
      status: 'ready',
      checks: { ledger: 'ok', temporal: 'ok' },
    });
  });

  it('reports not ready, naming the check, when the ledger is gone', async () => {
    const closed = await openLedger({ inMemory: true });
    await closed.close();
    const result = await readiness({ ledger: closed, temporal: stack.client });
    expect(result.ok).toBe(false);
    expect(result.status).toBe('not_ready');
    expect(result.checks.temporal).toBe('ok');
    expect(result.checks.ledger).not.toBe('ok');
  });

  it('serves /metrics to org-level keys only', async () => {
    expectGroqError(await probe(url, { method: 'GET', path: '/metrics' }), [401]);
    expectGroqError(
      await probe(url, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${member}` } }),
      [403],
      'permission_denied',
    );
  });

  it('exposes the ledger figures exactly, and this gateway’s requests', async () => {
    const answer = await probe(url, {
      method: 'GET',
      path: '/metrics',
      headers: { authorization: `Bearer ${orgViewer}` },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/plain/);
    const text = answer.text;
    const labels = {
      period,
      team: 'alpha',
      model: 'llama-3.1-8b-instant',
      outcome: 'success',
      kind: 'interactive',
    };
    expect(sample(text, 'groq_governor_period_attempts', labels)).toBe(3);
    const usage = await stack.ledger.listUsage({ period, limit: 100 });
    const cost = usage.reduce((sum, row) => sum + row.costNanos, 0n);
    expect(cost).toBe(BigInt(stack.emulator.billing().totals.cost_nanos));
    expect(sample(text, 'groq_governor_period_cost_nanos', labels)).toBe(Number(cost));
    const completion = usage.reduce((sum, row) => sum + row.completionTokens, 0n);
    expect(sample(text, 'groq_governor_period_tokens', { ...labels, type: 'completion' })).toBe(
      Number(completion),
    );
    expect(sample(text, 'groq_governor_period_upstream_seconds_count', labels)).toBe(3);
    expect(sample(text, 'groq_governor_period_rate_limit_wait_seconds_count', labels)).toBe(3);
    expect(
      sample(text, 'groq_governor_period_refusals', { period, team: 'alpha', reason: 'model_not_allowed' }),
    ).toBe(1);
    const spend = await stack.ledger.getTeamSpend('alpha', period);
    const budget = stack.config.teams.get('alpha')!.monthlyBudgetNanos;
    expect(sample(text, 'groq_governor_budget_used_ratio', { period, scope: 'team:alpha' })).toBeCloseTo(
      Number(spend.committed + spend.held) / Number(budget),
      12,
    );
    expect(
      sample(text, 'groq_governor_http_requests_total', {
        route: 'chat_completions',
        method: 'POST',
        status: '200',
      }),
    ).toBe(3);
    expect(
      sample(text, 'groq_governor_http_requests_total', {
        route: 'chat_completions',
        method: 'POST',
        status: '403',
      }),
    ).toBe(1);
    expect(text).toContain('groq_governor_gateway_process_resident_memory_bytes');
  });
});
