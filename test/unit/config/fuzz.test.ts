/**
 * Whatever is thrown at the parser, it answers `{ ok: true, config }` or `{ ok: false, problems }` with a
 * path and a message for each problem: never a throw, never a stack trace. And when it says ok, the
 * promises of GovernorConfig hold.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  parseConfig,
  validateConfig,
  type ConfigProblem,
  type GovernorConfig,
  type ParseResult,
} from '../../../domain/config';
import { parseKeyName } from '../../../domain/keyName';
import { exampleText, validRaw, type Raw } from './helpers';

function expectWellFormed(result: ParseResult): void {
  expect(typeof result.ok).toBe('boolean');
  if (result.ok) {
    expectInvariants(result.config);
    for (const warning of result.warnings) expectProblem(warning);
  } else {
    expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of result.problems) expectProblem(problem);
  }
}

function expectProblem(problem: ConfigProblem): void {
  expect(typeof problem.path).toBe('string');
  expect(problem.path.length).toBeGreaterThan(0);
  expect(typeof problem.message).toBe('string');
  expect(problem.message.length).toBeGreaterThan(0);
  expect(problem.message).not.toMatch(/\n\s+at |\bat .*\.(ts|js):\d+/);
  if (problem.line !== undefined) expect(problem.line).toBeGreaterThanOrEqual(1);
}

function expectInvariants(config: GovernorConfig): void {
  const keyNames = new Set(config.upstreamKeys.map((key) => key.name));
  expect(keyNames.size).toBe(config.upstreamKeys.length);
  for (const key of config.upstreamKeys) expect(parseKeyName(key.name)).not.toBeNull();
  for (const [name, team] of config.teams) {
    expect(team.name).toBe(name);
    expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(team.allowedModels.length).toBeGreaterThan(0);
    const priced = (model: string) =>
      config.pricing.models.has(model) ||
      (config.pricing.audio?.has(model) ?? false) ||
      (config.pricing.speech?.has(model) ?? false);
    for (const model of team.allowedModels) expect(priced(model)).toBe(true);
    expect(keyNames.has(team.upstreamKey)).toBe(true);
    expect(team.monthlyBudgetNanos >= 0n).toBe(true);
    for (const n of [team.rpm, team.tpm, team.concurrency, team.maxTokensPerRequest]) {
      expect(Number.isSafeInteger(n) && n > 0).toBe(true);
    }
  }
  for (const model of config.groq.limits.keys()) {
    expect(config.pricing.models.has(model) || (config.pricing.speech?.has(model) ?? false)).toBe(true);
  }
  for (const model of config.groq.audioLimits.keys()) expect(config.pricing.audio?.has(model)).toBe(true);
  const thresholds = config.org.alertThresholds;
  thresholds.forEach((t, i) => {
    expect(Number.isInteger(t) && t >= 1 && t <= 100).toBe(true);
    if (i > 0) expect(t).toBeGreaterThan(thresholds[i - 1]!);
  });
  expect(config.org.monthlyCapNanos >= 0n).toBe(true);
  for (const price of config.pricing.models.values()) {
    if (price.cachedInput !== undefined) expect(price.cachedInput <= price.input).toBe(true);
  }
}

// ---- mutations of a valid config object ------------------------------------------------------------

type Path = (string | number)[];

function allPaths(value: unknown, prefix: Path = []): Path[] {
  const paths: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((item, i) => paths.push(...allPaths(item, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) paths.push(...allPaths(item, [...prefix, key]));
  }
  return paths;
}

function nest(depth: number, leaf: unknown, asList: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asList ? [value] : { deeper: value };
  return value;
}

const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e21, 1e-10, Number.MAX_SAFE_INTEGER + 2, -1, 0, 0.5),
  fc.double(),
  fc.integer(),
  fc.constantFrom('', ' ', '-5', '0.0000000001', '1e3', '__proto__', 'constructor', 'toString', 'null'),
  fc
    .tuple(fc.integer({ min: 1, max: 300 }), fc.jsonValue({ maxDepth: 1 }), fc.boolean())
    .map(([depth, leaf, list]) => nest(depth, leaf, list)),
);

type Mutation =
  | { kind: 'delete'; pick: number }
  | { kind: 'replace'; pick: number; value: unknown }
  | { kind: 'addField'; pick: number; key: string; value: unknown }
  | { kind: 'wrap'; pick: number; depth: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: weirdValue }),
  fc.record({
    kind: fc.constant('addField' as const),
    pick: fc.nat(),
    key: fc.oneof(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.constantFrom('__proto__', 'constructor', 'rpm'),
    ),
    value: weirdValue,
  }),
  fc.record({ kind: fc.constant('wrap' as const), pick: fc.nat(), depth: fc.integer({ min: 1, max: 50 }) }),
);

function apply(root: Raw, change: Mutation): Raw {
  const paths = allPaths(root).filter((path) => path.length > 0);
  const path = paths[change.pick % paths.length]!;
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1]!;
  let parent: Raw = root;
  for (const segment of parentPath) parent = parent[segment] as Raw;
  switch (change.kind) {
    case 'delete':
      if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
      else delete (parent as Raw)[key];
      break;
    case 'replace':
      parent[key] = change.value;
      break;
    case 'addField': {
      const target = parent[key] as unknown;
      if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
        Object.defineProperty(target, change.key, {
          value: change.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else parent[key] = { [change.key]: change.value };
      break;
    }
    case 'wrap':
      parent[key] = nest(change.depth, parent[key], change.depth % 2 === 0);
      break;
  }
  return root;
}

function toYaml(value: unknown): string | undefined {
  try {
    return stringify(value, { aliasDuplicateObjects: false });
  } catch {
    return undefined;
  }
}

describe('config fuzzing', () => {
  it('mutated config objects: validated directly and through YAML, always answered', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (changes) => {
        let raw = validRaw();
        for (const change of changes) raw = apply(raw, change);
        const direct = validateConfig(raw);
        expectWellFormed(direct);
        const text = toYaml(raw);
        if (text !== undefined) expectWellFormed(parseConfig(text, 'fuzz.yaml'));
      }),
      { numRuns: 300 },
    );
  });

  it('a single wrong-typed field is always caught, at that path or its parent', () => {
    const base = validRaw();
    const leafPaths = allPaths(base).filter((path) => {
      let value: unknown = base;
      for (const segment of path) value = (value as Raw)[segment];
      return path.length > 0 && (typeof value === 'number' || typeof value === 'string');
    });
    fc.assert(
      fc.property(fc.constantFrom(...leafPaths), fc.constantFrom({}, [], true, null), (path, value) => {
        const raw = validRaw();
        let parent: Raw = raw;
        for (const segment of path.slice(0, -1)) parent = parent[segment] as Raw;
        parent[path[path.length - 1]!] = value;
        const result = validateConfig(raw);
        expect(result.ok).toBe(false);
        expectWellFormed(result);
      }),
      { numRuns: 1_000 },
    );
  });

  it('arbitrary text is answered, never thrown', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (text) => {
          expectWellFormed(parseConfig(text));
        },
      ),
      { numRuns: 1_500 },
    );
  });

  it('YAML-looking text built from YAML syntax is answered, never thrown', () => {
    const token = fc.constantFrom(
      'org:',
      'teams:',
      '  ',
      '- ',
      ': ',
      '{',
      '}',
      '[',
      ']',
      ',',
      '&a ',
      '*a',
      '<<: *a',
      '!!str ',
      '!tag ',
      '"',
      "'",
      '#',
      '---',
      '...',
      '\n',
      '\t',
      '? ',
      '|',
      '>',
      'rpm: 1',
      'monthlyCapUsd: "1"',
      '1e999',
      '.nan',
      '~',
      '%YAML 1.2\n',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (tokens) => {
        expectWellFormed(parseConfig(tokens.join('')));
      }),
      { numRuns: 1_000 },
    );
  });

  it('the example with random bytes cut out or pasted in is answered, never thrown', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.nat({ max: exampleText.length }),
            cut: fc.nat({ max: 40 }),
            insert: fc.string({ maxLength: 8 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (edits) => {
          let text = exampleText;
          for (const { at, cut, insert } of edits) text = text.slice(0, at) + insert + text.slice(at + cut);
          expectWellFormed(parseConfig(text, 'edited.yaml'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('very deep nesting is answered, never thrown', () => {
    for (const depth of [1_000, 10_000]) {
      expectWellFormed(parseConfig('a: ' + '['.repeat(depth) + ']'.repeat(depth)));
      expectWellFormed(parseConfig('a: ' + '{b: '.repeat(depth) + '1' + '}'.repeat(depth)));
      expectWellFormed(validateConfig({ ...validRaw(), teams: nest(depth, 1, depth % 2 === 0) }));
    }
  });
});
