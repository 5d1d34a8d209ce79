// Budget alerts and the automatic pause, end to end through the gateway: a team with a small budget is
// driven across 50, 80, 95 and 100% by requests of exactly known cost; each threshold alerts exactly
// once (recorded by the stack and POSTed to a real webhook as Slack-compatible JSON), and once the budget
// is used up every further request is refused with 402 budget_exceeded before Groq is called.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertSink } from '../../../activities/alerts';
import { costOf, worstCaseCost } from '../../../domain/pricing';
import { promptTokenBound } from '../../../domain/prompt-tokens';
import { periodOf } from '../../../ledger';
import { startCompletionStack, testConfig, type CompletionStack } from '../../support/completion-stack';
import { devServerEnv } from '../../support/temporal';

const MODEL = 'llama-3.1-8b-instant';
const TEAM = 'alerted';
const UPSTREAM_KEY = 'alerted-test-gateway';

// Input tokens are free here so that a request's worst case (prompt bound + allowance) equals its actual
// cost when the emulator generates the whole allowance: the budget can then be used up to the unit.
// Output: $1 per 1M tokens = 1000 nanos a token; the budget of $0.0001 is 100 tokens.
function configText(webhook: string): string {
  return `
org:
  name: Alert Org
  monthlyCapUsd: '1000'
  alertThresholds: [50, 80, 95]
  timezone: UTC
  webhooks: ['${webhook}']
groq:
  limits:
    ${MODEL}: { rpm: 100000, rpd: 10000000, tpm: 100000000, tpd: 1000000000 }
pricing:
  models:
    ${MODEL}: { input: '0', output: '1' }
upstreamKeys:
  - name: ${UPSTREAM_KEY}
teams:
  ${TEAM}:
    allowedModels: [${MODEL}]
    maxTokensPerRequest: 100
    monthlyBudgetUsd: '0.0001'
    rpm: 100000
    tpm: 100000000
    concurrency: 50
    upstreamKey: ${UPSTREAM_KEY}
`;
}

/** Completion allowances of the requests, in order: 25%, 50%, 70%, 80%, 90%, 95%, 99%, 100% of the budget. */
const STEPS = [25, 25, 20, 10, 10, 5, 4, 1];

interface WebhookBody {
  text: string;
  alert: { scope: string; team?: string; threshold: number; used_nanos: string; budget_nanos: string };
}

describe('budget alerts and the automatic pause', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let hook: Server;
  const posted: WebhookBody[] = [];
  let groq: Groq;
  const period = periodOf(new Date(), 'UTC');

  beforeAll(async () => {
    hook = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        posted.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookBody);
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const webhook = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
    const config = testConfig(configText(webhook));
    const quiet = { info: () => undefined, warn: () => undefined };
    env = await devServerEnv();
    stack = await startCompletionStack(env, {
      config,
      gateway: true,
      alertSink: createAlertSink({ webhooks: config.org.webhooks, log: quiet, attempts: 1 }),
    });
    const key = (await stack.issue(TEAM)).key;
    groq = new Groq({ baseURL: stack.gateway!.url, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
    await new Promise((resolve) => hook?.close(resolve));
  });

  const messages = (tokens: number) => [
    { role: 'user' as const, content: `Spend ${tokens} tokens [[emulator:completion_tokens=${tokens}]]` },
  ];

  it('alerts each threshold exactly once as the team crosses it, then pauses the team at 100%', async () => {
    const team = stack.config.teams.get(TEAM)!;
    const budget = team.monthlyBudgetNanos;
    expect(budget).toBe(100_000n);
    const thresholds = [...stack.config.org.alertThresholds, 100];
    let used = 0n;
    const expected: number[] = [];

    for (const tokens of STEPS) {
      // the hold fits: its worst case is exactly what it will cost
      const worst = worstCaseCost(stack.config.pricing, MODEL, promptTokenBound(messages(tokens)), tokens);
      expect(used + worst).toBeLessThanOrEqual(budget);

      const completion = await groq.chat.completions.create({
        model: MODEL,
        messages: messages(tokens),
        max_completion_tokens: tokens,
      });
      expect(completion.usage?.completion_tokens).toBe(tokens);
      const cost = costOf(stack.config.pricing, MODEL, {
        promptTokens: completion.usage!.prompt_tokens,
        completionTokens: tokens,
      });
      expect(cost).toBe(worst);
      const before = used;
      used += cost;
      // thresholds crossed by this request, by exact integer arithmetic
      const crossed = thresholds.filter(
        (t) => before * 100n < budget * BigInt(t) && used * 100n >= budget * BigInt(t),
      );
      expected.push(...crossed);
      const teamAlerts = stack.alerts.filter((alert) => alert.scope === 'team');
      expect(
        teamAlerts.map((alert) => alert.threshold),
        `after a request of ${tokens} tokens`,
      ).toEqual(expected);
      for (const alert of teamAlerts.slice(teamAlerts.length - crossed.length)) {
        expect(alert).toMatchObject({ team: TEAM, period, budget, used });
      }
    }
    expect(used).toBe(budget);
    expect(expected).toEqual([50, 80, 95, 100]);
    // the org's cap is far away: no org alert
    expect(stack.alerts.filter((alert) => alert.scope === 'org')).toEqual([]);

    const spend = await stack.ledger.getTeamSpend(TEAM, period);
    expect(spend).toMatchObject({ committed: budget, held: 0n });
    const ledgerAlerts = await stack.ledger.listAlerts(period);
    expect(ledgerAlerts.length).toBe(4);
    const pause = await stack.ledger.getTeamPause(TEAM, period);
    expect(pause.budget).toMatchObject({ kind: 'budget', period, pausedBy: 'governor' });
  });

  it('posted each alert once to the webhook as Slack-compatible JSON', () => {
    expect(posted.map((body) => body.alert.threshold)).toEqual([50, 80, 95, 100]);
    for (const body of posted) {
      expect(typeof body.text).toBe('string');
      expect(body.text).toContain(`Team ${TEAM}`);
      expect(body.alert).toMatchObject({ scope: 'team', team: TEAM, budget_nanos: '100000' });
    }
    expect(posted[0]!.text).toContain('has used 50% of its monthly budget');
    expect(posted[3]!.text).toContain('has used its whole monthly budget');
    expect(posted[3]!.alert.used_nanos).toBe('100000');
  });

  it('refuses further requests with 402 budget_exceeded without calling the emulator', async () => {
    const calls = stack.emulator.billedCalls().length;
    const requests = stack.emulator.requestCount(UPSTREAM_KEY);
    const refusal = (error: unknown) => {
      expect(error).toBeInstanceOf(Groq.APIError);
      const apiError = error as InstanceType<typeof Groq.APIError>;
      expect(apiError.status).toBe(402);
      expect((apiError.error as { error?: { code?: string } }).error?.code).toBe('budget_exceeded');
    };
    // the smallest possible request, JSON and streamed
    await groq.chat.completions
      .create({ model: MODEL, messages: messages(1), max_completion_tokens: 1 })
      .then(() => expect.fail('a request past the budget was served'), refusal);
    await groq.chat.completions
      .create({ model: MODEL, messages: messages(1), max_completion_tokens: 1, stream: true })
      .then(() => expect.fail('a stream past the budget was served'), refusal);
    expect(stack.emulator.billedCalls().length).toBe(calls);
    expect(stack.emulator.requestCount(UPSTREAM_KEY)).toBe(requests);
    // no more alerts, nothing more held or spent
    expect(stack.alerts.map((alert) => alert.threshold)).toEqual([50, 80, 95, 100]);
    expect(posted).toHaveLength(4);
    expect(await stack.ledger.getTeamSpend(TEAM, period)).toMatchObject({ committed: 100_000n, held: 0n });
    const refusals = await stack.ledger.refusalCounts({ period, team: TEAM });
    expect(refusals.find((row) => row.reason === 'budget_exceeded')?.count).toBe(2n);
  });
});
