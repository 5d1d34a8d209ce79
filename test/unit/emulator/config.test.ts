import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfigYaml, resolveConfig } from '../../../emulator/config';
import { DEFAULT_MODELS } from '../../../emulator/catalog';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('emulator config', () => {
  it('defaults to the 8 priced models with the reference limits', () => {
    const config = resolveConfig({});
    expect(config.models.map((model) => model.id)).toEqual(Object.keys(DEFAULT_MODELS));
    const instant = config.models.find((model) => model.id === 'llama-3.1-8b-instant');
    expect(instant?.limits).toEqual({ rpm: 30, rpd: 14_400, tpm: 6_000, tpd: 500_000 });
    expect(instant?.price).toEqual({ input: '0.05', output: '0.08' });
    expect(instant?.contextWindow).toBe(131_072);
    const kimi = config.models.find((model) => model.id === 'moonshotai/kimi-k2-instruct-0905');
    expect(kimi?.limits).toEqual({ rpm: 30, rpd: 1000, tpm: 30_000, tpd: 500_000 });
    expect(config.batchDiscountPercent).toBe(50);
    expect(config.cachedDiscountPercent).toBe(50);
    expect(config.defaultModel).toBe('llama-3.1-8b-instant');
  });

  it('merges overrides onto default models and accepts new priced models', () => {
    const config = resolveConfig({
      includeDefaultModels: true,
      models: {
        'llama-3.1-8b-instant': { limits: { tpm: 500 } },
        'x/new': { price: { input: 1, output: '2.5' }, contextWindow: 100 },
      },
    });
    const instant = config.models.find((model) => model.id === 'llama-3.1-8b-instant');
    expect(instant?.limits).toEqual({ rpm: 30, rpd: 14_400, tpm: 500, tpd: 500_000 });
    const added = config.models.find((model) => model.id === 'x/new');
    expect(added?.price).toEqual({ input: '1', output: '2.5' });
    expect(added?.limits).toEqual({ rpm: 30, rpd: 1000, tpm: 30_000, tpd: 500_000 });
  });

  it('lists every problem of a bad config as path: reason', () => {
    const problems = problemsOf(() =>
      parseConfigYaml(`
orgId: nope
keys:
  - name: a
    secret: sk-not-groq
  - name: a
    secret: gsk_${'b'.repeat(52)}
models:
  llama-3.1-8b-instant:
    limits: { rpm: -1 }
  brand/new:
    contextWindow: 10
batchDiscountPercent: 120
latencyMs: fast
surprise: true
`),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^orgId: /),
        expect.stringMatching(/^keys\[0\]\.secret: must be gsk_/),
        expect.stringMatching(/^models\["llama-3\.1-8b-instant"\]\.limits\.rpm: /),
        expect.stringMatching(/^batchDiscountPercent: /),
        expect.stringMatching(/^latencyMs: /),
        expect.stringMatching(/^\(root\): .*surprise/),
        // cross-field problems are listed even though other fields are malformed
        'keys[1].name: duplicate key name a',
        'models["brand/new"].price.input: required for a model that is not one of the defaults',
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(8);
  });

  it('reports cross-field problems (duplicates, unpriced new models, unknown default model)', () => {
    const secret = `gsk_${'c'.repeat(52)}`;
    const problems = problemsOf(() =>
      resolveConfig({
        keys: [
          { name: 'a', secret },
          { name: 'a', secret },
        ],
        models: { 'brand/new': { contextWindow: 10 } },
        defaultModel: 'nope',
      }),
    );
    expect(problems).toEqual([
      'keys[1].name: duplicate key name a',
      'keys[1].secret: duplicate secret',
      'models["brand/new"].price.input: required for a model that is not one of the defaults',
      'models["brand/new"].price.output: required for a model that is not one of the defaults',
      'defaultModel: not a configured model: nope',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf(() => parseConfigYaml('models: {\n  bad: [\n'));
    expect(problems[0]).toMatch(/^line \d+, column \d+: /);
  });

  it('loads the example file', async () => {
    const config = await loadConfigFile(join(import.meta.dirname, '../../../emulator/emulator.example.yaml'));
    expect(config.keys.map((key) => key.name)).toEqual(['team-search', 'team-support']);
    expect(config.models.some((model) => model.id === 'emulator/tiny-test-model')).toBe(true);
    expect(config.models.find((model) => model.id === 'llama-3.3-70b-versatile')?.price.cachedInput).toBe(
      '0.295',
    );
  });

  it('names the file in the error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emu-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'latencyMs: -5\n');
    await expect(loadConfigFile(file)).rejects.toThrow(`${file} is invalid:\n  - latencyMs:`);
  });
});
