import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../../domain/config';
import { problemsOf } from './helpers';

const BROKEN = 'test/fixtures/config/broken.yaml';

/** Every problem planted in the fixture, by path, with a word from its reason. */
const EXPECTED: Record<string, RegExp> = {
  'org.monthlyCapUsd': /decimal.*got "lots"/,
  'org.alertThresholds[2]': /strictly increasing: 80 is not above 95/,
  'org.timezone': /unknown time zone "Mars\/Olympus_Mons"/,
  'org.webhooks[0]': /http\(s\) URL, got "not-a-url"/,
  'groq.limits["qwen/qwen3-32b"]': /no price/,
  'groq.limits["llama-3.3-70b-versatile"].rpm': /must be > 0, got 0/,
  'groq.limits["llama-3.3-70b-versatile"].tpm': /whole number > 0, got "twelve-thousand"/,
  'pricing.batchDiscountPercent': /must be <= 100, got 150/,
  'pricing.models["llama-3.3-70b-versatile"].cachedInput': /not be above the input price/,
  'pricing.models["openai/gpt-oss-20b"].output': /missing required field/,
  'upstreamKeys[1].name': /duplicate upstream key name "chatbot-prod-gateway"/,
  'upstreamKeys[2].name': /"Analytics_Prod" must be lower-case/,
  'upstreamKeys[2].secretEnv': /not an environment variable name: "1-BAD"/,
  'teams.chatbot.allowedModels[1]': /unknown model "gpt-5-ultra"/,
  'teams.chatbot.monthlyBudgetUsd': /must be >= 0, got "-200"/,
  'teams.chatbot.maxTokens': /unknown field "maxTokens" \(did you mean "maxTokensPerRequest"\?\)/,
  'teams.analytics.allowedModels': /expected a list, got "llama-3.1-8b-instant"/,
  'teams.analytics.maxTokensPerRequest': /whole number > 0, got 512.5/,
  'teams.analytics.rpm': /whole number > 0, got "30"/,
  'teams.analytics.upstreamKey': /no upstream key named "analytics-prod-gateway"/,
  'teams.research.allowedModels[0]': /"qwen\/qwen3-32b" has no price/,
  'teams.research.monthlyBudgetUsd': /more than 9 decimal places/,
  'teams.research.concurrency': /missing required field/,
  'teams["Data-Team"]': /team name "Data-Team" must match/,
  'teams["Data-Team"].allowedModels': /at least one model/,
  'gateway.port': /must be <= 65535, got 70000/,
  'gateway.maxWaitMs': /must be >= 0, got -1/,
  'gateway.maxBodyBytes': /whole number > 0, got "1 MiB"/,
  'reports.schedule.dayOfWeek': /day of the week.*got "FUNDAY"/,
  'reports.schedule.hour': /must be <= 23, got 24/,
  'reports.catchupWindow': /expected a duration.*got "soon"/,
  'reports.webhooks[0]': /http\(s\) URL, got "ftp:/,
  'reports.colour': /unknown field "colour"/,
  extra: /unknown field "extra"/,
};

describe('the broken fixture', () => {
  it('lists every planted problem, each once, and nothing else', async () => {
    const problems = problemsOf(await loadConfigFile(BROKEN));
    expect(problems.map((problem) => problem.path).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const problem of problems) expect(problem.message, problem.path).toMatch(EXPECTED[problem.path]!);
  });

  it('locates each problem on the line that carries it (or its parent for a missing field)', () => {
    const text = readFileSync(BROKEN, 'utf8');
    const lines = text.split('\n');
    const problems = problemsOf(parseConfig(text, BROKEN));
    const lineOf = (path: string) => lines[problems.find((p) => p.path === path)!.line! - 1];
    expect(lineOf('org.monthlyCapUsd')).toContain('monthlyCapUsd: lots');
    expect(lineOf('teams.chatbot.maxTokens')).toContain('maxTokens: 100');
    expect(lineOf('teams.chatbot.allowedModels[1]')).toContain('gpt-5-ultra');
    expect(lineOf('upstreamKeys[2].name')).toContain('Analytics_Prod');
    expect(lineOf('extra')).toContain('extra: true');
    expect(lineOf('teams.research.concurrency')).toContain('allowedModels: [qwen/qwen3-32b]');
    // in file order
    const order = problems.map((p) => p.line!);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});
