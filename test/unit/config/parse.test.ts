import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseConfig,
  validateConfig,
  ConfigError,
  formatProblems,
  loadConfigOrThrow,
} from '../../../domain/config';
import { costOf } from '../../../domain/pricing';
import {
  check,
  configOf,
  defaultText,
  exampleText,
  expectOnlyProblem,
  problemsOf,
  validRaw,
} from './helpers';

describe('the shipped configurations', () => {
  it('parses the annotated example into exact, typed values', () => {
    const result = parseConfig(exampleText, 'governor.example.yaml');
    const config = configOf(result);
    expect(result.ok && result.warnings).toEqual([]);

    expect(config.org).toEqual({
      name: 'Acme Corp',
      monthlyCapNanos: 2_000_000_000_000n,
      alertThresholds: [50, 80, 95],
      timezone: 'Europe/Berlin',
      webhooks: ['https://hooks.example.com/groq-governor/alerts'],
    });
    expect([...config.teams.keys()]).toEqual(['chatbot', 'analytics', 'research', 'batch']);
    expect(config.teams.get('chatbot')).toEqual({
      name: 'chatbot',
      allowedModels: [
        'llama-3.3-70b-versatile',
        'llama-3.1-8b-instant',
        'whisper-large-v3-turbo',
        'canopylabs/orpheus-v1-english',
      ],
      maxTokensPerRequest: 2048,
      monthlyBudgetNanos: 200_000_000_000n,
      rpm: 60,
      tpm: 100000,
      concurrency: 8,
      upstreamKey: 'chatbot-prod-gateway',
    });
    expect(config.teams.get('batch')?.monthlyBudgetNanos).toBe(300_500_000_000n);
    expect(config.teams.get('batch')?.batch).toEqual({ maxConcurrency: 4 });
    expect(config.teams.get('chatbot')?.batch).toBeUndefined();

    expect(config.groq.baseUrl).toBe('https://api.groq.com');
    expect(config.groq.limits.get('llama-3.3-70b-versatile')).toEqual({
      rpm: 30,
      rpd: 1000,
      tpm: 12000,
      tpd: 100000,
    });

    expect(config.pricing.batchDiscountPercent).toBe(50);
    expect(config.pricing.cachedDiscountPercent).toBe(50);
    expect(config.pricing.models.size).toBe(8);
    expect(config.pricing.models.get('openai/gpt-oss-20b')).toEqual({
      input: 75_000_000n,
      output: 300_000_000n,
    });
    // the price book is usable as is: 1,000 prompt + 500 completion tokens on llama-3.3-70b-versatile
    expect(
      costOf(config.pricing, 'llama-3.3-70b-versatile', { promptTokens: 1000, completionTokens: 500 }),
    ).toBe(985_000n);

    expect(config.upstreamKeys[0]).toEqual({
      name: 'chatbot-prod-gateway',
      team: 'chatbot',
      env: 'prod',
      purpose: 'gateway',
      secretEnv: 'GROQ_KEY_CHATBOT_PROD',
    });
    expect(config.gateway).toEqual({
      port: 8080,
      maxWaitMs: 10000,
      maxBodyBytes: 1048576,
      maxAudioBytes: 26214400,
      maxBatchFileBytes: 104857600,
      maxSpeechCharacters: 10000,
    });
    expect(config.reports).toEqual({
      schedule: { dayOfWeek: 'MONDAY', hour: 9, minute: 0 },
      catchupWindow: '1 day',
      catchupWindowMs: 86_400_000,
      webhooks: ['https://hooks.example.com/groq-governor/reports'],
      directory: '.data/reports',
    });
  });

  it('parses the embedded default with demo-sized limits and no warnings', () => {
    const result = parseConfig(defaultText, 'governor.default.yaml');
    const config = configOf(result);
    expect(result.ok && result.warnings).toEqual([]);
    expect(config.teams.size).toBeGreaterThanOrEqual(2);
    expect(config.teams.size).toBeLessThanOrEqual(3);
    for (const team of config.teams.values()) {
      for (const model of team.allowedModels) {
        const audio = config.groq.audioLimits.get(model);
        if (audio) {
          expect(audio.rpm).toBeGreaterThanOrEqual(6000);
          expect(audio.ash).toBeGreaterThanOrEqual(1_000_000);
          continue;
        }
        const limits = config.groq.limits.get(model);
        expect(limits?.rpm).toBeGreaterThanOrEqual(6000);
        expect(limits?.tpm).toBeGreaterThanOrEqual(10_000_000);
      }
    }
    // every reference price is there
    for (const model of [
      'llama-3.1-8b-instant',
      'llama-3.3-70b-versatile',
      'openai/gpt-oss-120b',
      'openai/gpt-oss-20b',
      'meta-llama/llama-4-scout-17b-16e-instruct',
      'meta-llama/llama-4-maverick-17b-128e-instruct',
      'qwen/qwen3-32b',
      'moonshotai/kimi-k2-instruct-0905',
    ]) {
      expect(config.pricing.models.has(model), model).toBe(true);
    }
    expect(config.pricing.models.get('moonshotai/kimi-k2-instruct-0905')).toEqual({
      input: 1_000_000_000n,
      output: 3_000_000_000n,
    });
  });

  it('the minimal file in docs/configuration.md is valid, with the one warning the doc promises', () => {
    const doc = readFileSync('docs/configuration.md', 'utf8');
    const minimal = /## A minimal file\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(minimal).toBeDefined();
    const result = parseConfig(minimal!, 'minimal.yaml');
    configOf(result);
    expect(result.ok && result.warnings.map((w) => w.path)).toEqual(['teams.chatbot.allowedModels[0]']);
  });

  it('loadConfigOrThrow loads the default when no path is given', async () => {
    const loaded = await loadConfigOrThrow();
    expect(loaded.config.org.name).toBe('Demo Org');
    expect(loaded.source).toMatch(/governor\.default\.yaml$/);
  });
});

describe('defaults', () => {
  it('fills every optional field', () => {
    const raw = validRaw();
    delete raw.org.alertThresholds;
    delete raw.org.webhooks;
    delete raw.groq;
    delete raw.pricing.batchDiscountPercent;
    delete raw.pricing.cachedDiscountPercent;
    delete raw.gateway;
    delete raw.reports;
    const result = check(raw);
    const config = configOf(result);
    expect(config.org.alertThresholds).toEqual([50, 80, 95]);
    expect(config.org.webhooks).toEqual([]);
    expect(config.groq.baseUrl).toBe('https://api.groq.com');
    expect(config.groq.limits.size).toBe(0);
    expect(config.pricing.batchDiscountPercent).toBe(50);
    expect(config.pricing.cachedDiscountPercent).toBe(50);
    expect(config.gateway).toEqual({
      port: 8080,
      maxWaitMs: 10_000,
      maxBodyBytes: 1024 * 1024,
      maxAudioBytes: 25 * 1024 * 1024,
      maxBatchFileBytes: 100 * 1024 * 1024,
      maxSpeechCharacters: 10_000,
    });
    expect(config.reports).toEqual({
      schedule: { dayOfWeek: 'MONDAY', hour: 9, minute: 0 },
      catchupWindow: '1 day',
      catchupWindowMs: 86_400_000,
      webhooks: [],
      directory: '.data/reports',
    });
    // without groq.limits every used model gets a warning, once per model
    const warnings = result.ok ? result.warnings : [];
    expect(warnings.filter((w) => /no Groq limits/.test(w.message))).toHaveLength(7);
  });

  it('an optional section or list left empty counts as absent; an empty required field does not', () => {
    const text = defaultText.replace(
      /\ngateway:[\s\S]*$/,
      '\ngateway:\nreports:\n  schedule:\n  webhooks:\n',
    );
    const config = configOf(parseConfig(text));
    expect(config.gateway.port).toBe(8080);
    expect(config.reports.schedule).toEqual({ dayOfWeek: 'MONDAY', hour: 9, minute: 0 });
    expect(config.reports.webhooks).toEqual([]);
    const problems = problemsOf(parseConfig(defaultText.replace('  timezone: UTC', '  timezone:')));
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      ['org.timezone', 'expected text, got an empty value'],
    ]);
  });

  it('puts the reports directory under the data dir', () => {
    const raw = validRaw();
    delete raw.reports.directory;
    const result = parseConfig(JSON.stringify(raw), 'x.yaml', { dataDir: '/var/lib/governor/' });
    expect(configOf(result).reports.directory).toBe('/var/lib/governor/reports');
  });

  it('fills defaults inside a partly given section', () => {
    const raw = validRaw();
    raw.reports = { schedule: { hour: 7 } };
    raw.gateway = { port: 0 };
    const config = configOf(check(raw));
    expect(config.reports.schedule).toEqual({ dayOfWeek: 'MONDAY', hour: 7, minute: 0 });
    expect(config.gateway).toEqual({
      port: 0,
      maxWaitMs: 10_000,
      maxBodyBytes: 1024 * 1024,
      maxAudioBytes: 25 * 1024 * 1024,
      maxBatchFileBytes: 100 * 1024 * 1024,
      maxSpeechCharacters: 10_000,
    });
  });
});

describe('exact money', () => {
  it('accepts amounts as decimal strings or numbers, exactly', () => {
    const raw = validRaw();
    raw.org.monthlyCapUsd = 1234.56;
    raw.teams.chatbot.monthlyBudgetUsd = '0.000000001';
    raw.teams.analytics.monthlyBudgetUsd = 0;
    raw.pricing.models['llama-3.1-8b-instant'] = { input: 0.05, output: '0.080', cachedInput: '0.025' };
    const config = configOf(check(raw));
    expect(config.org.monthlyCapNanos).toBe(1_234_560_000_000n);
    expect(config.teams.get('chatbot')?.monthlyBudgetNanos).toBe(1n);
    expect(config.teams.get('analytics')?.monthlyBudgetNanos).toBe(0n);
    expect(config.pricing.models.get('llama-3.1-8b-instant')).toEqual({
      input: 50_000_000n,
      output: 80_000_000n,
      cachedInput: 25_000_000n,
    });
  });

  it('keeps a large amount exact when it is quoted', () => {
    const raw = validRaw();
    raw.org.monthlyCapUsd = '123456789012345678.123456789';
    expect(configOf(check(raw)).org.monthlyCapNanos).toBe(123456789012345678123456789n);
  });

  it('refuses a YAML number that would be stored rounded, and says to quote it', () => {
    const text = exampleText.replace("monthlyCapUsd: '2000'", 'monthlyCapUsd: 12345678901234567891');
    const problems = problemsOf(parseConfig(text));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('org.monthlyCapUsd');
    expect(problems[0]?.message).toMatch(/cannot be stored exactly.*quotes/);
    expect(problems[0]?.line).toBe(
      text.split('\n').findIndex((line) => line.includes('12345678901234567891')) + 1,
    );
  });

  it('accepts YAML numbers written with trailing zeros', () => {
    const text = exampleText.replace("monthlyCapUsd: '2000'", 'monthlyCapUsd: 2000.50');
    expect(configOf(parseConfig(text)).org.monthlyCapNanos).toBe(2_000_500_000_000n);
  });
});

describe('one rule, one case', () => {
  it('negative budget', () => {
    const raw = validRaw();
    raw.teams.research.monthlyBudgetUsd = -5;
    expectOnlyProblem(raw, 'teams.research.monthlyBudgetUsd', /must be >= 0, got -5/);
    raw.teams.research.monthlyBudgetUsd = '-5.00';
    expectOnlyProblem(raw, 'teams.research.monthlyBudgetUsd', /must be >= 0/);
  });

  it('amount with more than 9 decimal places', () => {
    const raw = validRaw();
    raw.org.monthlyCapUsd = '1.0000000001';
    expectOnlyProblem(raw, 'org.monthlyCapUsd', /more than 9 decimal places/);
  });

  it('amount that is not a number', () => {
    const raw = validRaw();
    raw.org.monthlyCapUsd = '$2,000';
    expectOnlyProblem(raw, 'org.monthlyCapUsd', /decimal.*got "\$2,000"/);
    raw.org.monthlyCapUsd = true;
    expectOnlyProblem(raw, 'org.monthlyCapUsd', /decimal.*got true/);
  });

  it('missing required field', () => {
    const raw = validRaw();
    delete raw.org.timezone;
    expectOnlyProblem(raw, 'org.timezone', /missing required field/);
  });

  it('missing required section', () => {
    const raw = validRaw();
    delete raw.teams;
    expectOnlyProblem(raw, 'teams', /missing required field: expected a mapping/);
  });

  it('wrong type', () => {
    const raw = validRaw();
    raw.teams.chatbot.rpm = '60';
    expectOnlyProblem(raw, 'teams.chatbot.rpm', /expected a whole number > 0, got "60"/);
  });

  it('not a whole number', () => {
    const raw = validRaw();
    raw.teams.chatbot.concurrency = 2.5;
    expectOnlyProblem(raw, 'teams.chatbot.concurrency', /whole number.*got 2\.5/);
  });

  it('zero where a positive number is needed', () => {
    const raw = validRaw();
    raw.groq.limits['llama-3.1-8b-instant'].tpd = 0;
    expectOnlyProblem(raw, 'groq.limits["llama-3.1-8b-instant"].tpd', /must be > 0, got 0/);
  });

  it('unknown field, with a suggestion for a typo', () => {
    const raw = validRaw();
    raw.teams.chatbot.maxTokenPerRequest = 10;
    expectOnlyProblem(
      raw,
      'teams.chatbot.maxTokenPerRequest',
      /unknown field.*did you mean "maxTokensPerRequest"/,
    );
  });

  it('unknown field at the top, listing the known ones', () => {
    const raw = validRaw();
    raw.budgets = {};
    expectOnlyProblem(raw, 'budgets', /unknown field "budgets" \(known: org, groq, pricing/);
  });

  it('unknown field inside a model price', () => {
    const raw = validRaw();
    raw.pricing.models['qwen/qwen3-32b'].currency = 'EUR';
    expectOnlyProblem(raw, 'pricing.models["qwen/qwen3-32b"].currency', /unknown field/);
  });

  it('unknown model in a team', () => {
    const raw = validRaw();
    raw.teams.analytics.allowedModels = ['llama-3.1-8b-instant', 'gpt-4o'];
    expectOnlyProblem(raw, 'teams.analytics.allowedModels[1]', /unknown model "gpt-4o".*no price/);
  });

  it('model with limits but no price, in a team and in groq.limits', () => {
    const raw = validRaw();
    delete raw.pricing.models['openai/gpt-oss-120b'];
    const problems = problemsOf(check(raw));
    expect(problems.map((p) => p.path).sort()).toEqual([
      'groq.limits["openai/gpt-oss-120b"]',
      'teams.batch.allowedModels[1]',
    ]);
    for (const problem of problems)
      expect(problem.message).toMatch(/has no price: add it under pricing\.models/);
  });

  it('never a default price: a model priced nowhere is an error even when nothing else mentions it', () => {
    const raw = validRaw();
    raw.pricing.models = { 'llama-3.1-8b-instant': { input: '0.05', output: '0.08' } };
    raw.groq.limits = {};
    const problems = problemsOf(check(raw));
    expect(problems.map((p) => p.path)).toEqual([
      'teams.chatbot.allowedModels[0]',
      'teams.research.allowedModels[0]',
      'teams.research.allowedModels[2]',
      'teams.batch.allowedModels[0]',
      'teams.batch.allowedModels[1]',
    ]);
  });

  it("team's upstream key missing", () => {
    const raw = validRaw();
    raw.teams.research.upstreamKey = 'research-prod-other';
    expectOnlyProblem(raw, 'teams.research.upstreamKey', /no upstream key named "research-prod-other"/);
  });

  it('duplicate key names', () => {
    const raw = validRaw();
    raw.upstreamKeys.push({ name: 'analytics-prod-gateway' });
    expectOnlyProblem(
      raw,
      'upstreamKeys[5].name',
      /duplicate upstream key name "analytics-prod-gateway" \(also upstreamKeys\[2\]\)/,
    );
  });

  it('bad key name', () => {
    const raw = validRaw();
    raw.upstreamKeys[0].name = 'chatbot-prod';
    raw.teams.chatbot.upstreamKey = 'chatbot-prod';
    expectOnlyProblem(raw, 'upstreamKeys[0].name', /2 part\(s\), needs three/);
  });

  it('bad secretEnv', () => {
    const raw = validRaw();
    raw.upstreamKeys[0].secretEnv = 'GROQ KEY';
    expectOnlyProblem(raw, 'upstreamKeys[0].secretEnv', /not an environment variable name/);
  });

  it('thresholds not increasing', () => {
    const raw = validRaw();
    raw.org.alertThresholds = [50, 80, 80, 95];
    expectOnlyProblem(raw, 'org.alertThresholds[2]', /strictly increasing: 80 is not above 80/);
  });

  it('threshold out of range', () => {
    const raw = validRaw();
    raw.org.alertThresholds = [0, 50, 101];
    const problems = problemsOf(check(raw));
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      ['org.alertThresholds[0]', 'must be >= 1, got 0'],
      ['org.alertThresholds[2]', 'must be <= 100, got 101'],
    ]);
  });

  it('bad timezone, and a good one is canonicalized', () => {
    const raw = validRaw();
    raw.org.timezone = 'Europe/Springfield';
    expectOnlyProblem(raw, 'org.timezone', /unknown time zone "Europe\/Springfield"/);
    raw.org.timezone = 'europe/berlin';
    expect(configOf(check(raw)).org.timezone).toBe('Europe/Berlin');
  });

  it('bad webhook URL', () => {
    const raw = validRaw();
    raw.org.webhooks = ['https://ok.example.com', 'javascript:alert(1)'];
    expectOnlyProblem(raw, 'org.webhooks[1]', /expected an http\(s\) URL/);
  });

  it('empty allow-list', () => {
    const raw = validRaw();
    raw.teams.analytics.allowedModels = [];
    expectOnlyProblem(raw, 'teams.analytics.allowedModels', /at least one model/);
  });

  it('bad team name', () => {
    const raw = validRaw();
    raw.teams['Chat-Bot'] = raw.teams.chatbot;
    delete raw.teams.chatbot;
    expectOnlyProblem(raw, 'teams["Chat-Bot"]', /team name "Chat-Bot" must match/);
  });

  it('bad model name', () => {
    const raw = validRaw();
    raw.pricing.models['bad model!'] = { input: '1', output: '1' };
    expectOnlyProblem(raw, 'pricing.models["bad model!"]', /not a model name/);
  });

  it('cached price above the input price', () => {
    const raw = validRaw();
    raw.pricing.models['qwen/qwen3-32b'].cachedInput = '0.30';
    expectOnlyProblem(
      raw,
      'pricing.models["qwen/qwen3-32b"].cachedInput',
      /must not be above the input price/,
    );
  });

  it('discount out of range', () => {
    const raw = validRaw();
    raw.pricing.cachedDiscountPercent = 100.5;
    expectOnlyProblem(raw, 'pricing.cachedDiscountPercent', /whole percent 0\.\.100/);
  });

  it('port out of range', () => {
    const raw = validRaw();
    raw.gateway.port = 65536;
    expectOnlyProblem(raw, 'gateway.port', /must be <= 65535/);
  });

  it('report schedule: day of week in any case, hour and minute ranges', () => {
    const raw = validRaw();
    raw.reports.schedule = { dayOfWeek: 'friday', hour: 17, minute: 30 };
    expect(configOf(check(raw)).reports.schedule).toEqual({ dayOfWeek: 'FRIDAY', hour: 17, minute: 30 });
    raw.reports.schedule.minute = 60;
    expectOnlyProblem(raw, 'reports.schedule.minute', /must be <= 59/);
  });

  it('catch-up window: durations Temporal accepts, at least 10 seconds', () => {
    const raw = validRaw();
    for (const [text, ms] of [
      ['12 hours', 43_200_000],
      ['30m', 1_800_000],
      ['1.5h', 5_400_000],
      ['2 weeks', 1_209_600_000],
    ] as const) {
      raw.reports.catchupWindow = text;
      expect(configOf(check(raw)).reports.catchupWindowMs).toBe(ms);
    }
    raw.reports.catchupWindow = '5s';
    expectOnlyProblem(raw, 'reports.catchupWindow', /at least 10 seconds/);
    raw.reports.catchupWindow = '1 fortnight';
    expectOnlyProblem(raw, 'reports.catchupWindow', /expected a duration/);
  });

  it('the whole file is not a mapping', () => {
    expect(problemsOf(parseConfig('- a\n- b\n'))).toEqual([
      { path: '(root)', message: 'expected a mapping (key: value), got a list', line: 1, column: 1 },
    ]);
    expect(problemsOf(parseConfig(''))).toEqual([{ path: '(root)', message: 'the configuration is empty' }]);
    expect(problemsOf(parseConfig('# only a comment\n'))).toEqual([
      { path: '(root)', message: 'the configuration is empty' },
    ]);
  });

  it('a __proto__ key is an unknown field, not a prototype change', () => {
    const text = exampleText.replace('teams:\n', 'teams:\n  __proto__:\n    polluted: true\n');
    const problems = problemsOf(parseConfig(text));
    expect(problems.map((p) => p.path)).toContain('teams.__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('cross-field rules still run when other fields are broken', () => {
  it('reports an unknown model and a missing key next to type errors elsewhere', () => {
    const raw = validRaw();
    raw.gateway.port = 'eighty';
    raw.org.monthlyCapUsd = null;
    raw.teams.chatbot.allowedModels.push('nope-model');
    raw.teams.chatbot.rpm = -1;
    raw.teams.analytics.upstreamKey = 'ghost-prod-key';
    const paths = problemsOf(check(raw)).map((p) => p.path);
    expect(paths.sort()).toEqual(
      [
        'gateway.port',
        'org.monthlyCapUsd',
        'teams.chatbot.allowedModels[4]',
        'teams.chatbot.rpm',
        'teams.analytics.upstreamKey',
      ].sort(),
    );
  });
});

describe('warnings', () => {
  it('a team budget above the org cap is a warning, not an error; oversubscription is silent', () => {
    const raw = validRaw();
    raw.org.monthlyCapUsd = '400';
    raw.teams.research.monthlyBudgetUsd = '500';
    // chatbot 200 + analytics 50 + research 500 + batch 300.50 > 400: allowed without a word
    const result = check(raw);
    configOf(result);
    expect(result.ok && result.warnings.map((w) => [w.path, w.message])).toEqual([
      [
        'teams.research.monthlyBudgetUsd',
        "budget 500.00 USD is above the org's monthly cap of 400.00 USD: the org cap stops this team first",
      ],
    ]);
  });

  it('flags a key named for another team, a repeated model, a request size above the team tpm', () => {
    const raw = validRaw();
    raw.teams.analytics.upstreamKey = 'chatbot-prod-gateway';
    raw.teams.analytics.allowedModels = ['llama-3.1-8b-instant', 'llama-3.1-8b-instant'];
    raw.teams.analytics.maxTokensPerRequest = 30000;
    const result = check(raw);
    configOf(result);
    expect(result.ok && result.warnings.map((w) => w.path).sort()).toEqual([
      'teams.analytics.allowedModels[1]',
      'teams.analytics.maxTokensPerRequest',
      'teams.analytics.upstreamKey',
    ]);
  });
});

describe('problem presentation', () => {
  it('formats one "  path: reason (line N)" line per problem', () => {
    const raw = validRaw();
    raw.teams.chatbot.rpm = 'x';
    raw.gateway.maxWaitMs = -1;
    const result = check(raw);
    const text = formatProblems(problemsOf(result));
    const lines = text.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^ {2}teams\.chatbot\.rpm: expected a whole number > 0, got "x" \(line \d+\)$/);
    expect(lines[1]).toMatch(/^ {2}gateway\.maxWaitMs: must be >= 0, got -1 \(line \d+\)$/);
  });

  it('sorts problems in file order and points at the offending line', () => {
    const text = exampleText
      .replace('    rpm: 60\n', '    rpm: sixty\n')
      .replace('  timezone: Europe/Berlin', '  timezone: Nowhere/Special');
    const problems = problemsOf(parseConfig(text));
    const lines = text.split('\n');
    expect(problems.map((p) => p.path)).toEqual(['org.timezone', 'teams.chatbot.rpm']);
    expect(lines[problems[0]!.line! - 1]).toContain('Nowhere/Special');
    expect(lines[problems[1]!.line! - 1]).toContain('rpm: sixty');
  });

  it('an unknown field points at its own key', () => {
    const text = exampleText.replace('    concurrency: 4\n', '    concurrency: 4\n    concurency: 4\n');
    const [problem] = problemsOf(parseConfig(text));
    expect(problem?.path).toBe('teams.analytics.concurency');
    expect(text.split('\n')[problem!.line! - 1]).toBe('    concurency: 4');
    expect(problem?.column).toBe(5);
  });

  it('ConfigError carries every problem and the formatted list', async () => {
    const error = await loadConfigOrThrow('test/fixtures/config/broken.yaml').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.problems.length).toBeGreaterThan(20);
    expect(configError.message).toContain('test/fixtures/config/broken.yaml: invalid configuration');
    expect(configError.message).toContain(formatProblems(configError.problems));
    expect(configError.message).not.toMatch(/\n\s+at /);
  });

  it('validateConfig reports problems without positions', () => {
    const result = validateConfig({ org: 1 });
    expect(problemsOf(result).every((p) => p.line === undefined)).toBe(true);
  });
});
