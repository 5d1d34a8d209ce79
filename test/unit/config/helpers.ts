import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify } from 'yaml';
import { expect } from 'vitest';
import {
  DEFAULT_CONFIG_PATH,
  EXAMPLE_CONFIG_PATH,
  parseConfig,
  validateConfig,
  type ConfigProblem,
  type GovernorConfig,
  type ParseResult,
} from '../../../domain/config';

export const exampleText = readFileSync(EXAMPLE_CONFIG_PATH, 'utf8');
export const defaultText = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Raw = Record<string, any>;

const exampleRaw = parseYaml(exampleText) as Raw;

/** A fresh, valid config object (the example file) to mutate in a test. */
export function validRaw(): Raw {
  return structuredClone(exampleRaw);
}

/** Validate an object the way a file would be: through YAML text. */
export function check(raw: unknown): ParseResult {
  return parseConfig(stringify(raw), 'test.yaml');
}

export function problemsOf(result: ParseResult): ConfigProblem[] {
  if (result.ok) throw new Error(`expected problems, got a valid config`);
  return result.problems;
}

export function configOf(result: ParseResult): GovernorConfig {
  if (!result.ok)
    throw new Error(`expected a valid config, got:\n${JSON.stringify(result.problems, null, 2)}`);
  return result.config;
}

/** Exactly one problem, at `path`, whose message matches. */
export function expectOnlyProblem(raw: unknown, path: string, message: RegExp): ConfigProblem {
  const problems = problemsOf(check(raw));
  expect(problems.map((problem) => problem.path)).toEqual([path]);
  const [problem] = problems;
  expect(problem?.message).toMatch(message);
  // the same answer without YAML in between
  const direct = problemsOf(validateConfig(raw));
  expect(direct.map((p) => [p.path, p.message])).toEqual(problems.map((p) => [p.path, p.message]));
  return problem!;
}
