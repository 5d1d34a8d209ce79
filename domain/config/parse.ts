/**
 * Configuration text -> GovernorConfig, or the list of every problem in it. Pure: no file system, no
 * environment. Never throws for bad input: every failure comes back as `{ ok: false, problems }`.
 */
import { z } from 'zod';
import { formatUsd } from '../money';
import type { AudioPrice, ModelPrice, SpeechPrice } from '../pricing';
import { parseKeyName } from '../keyName';
import { crossCheck } from './crossCheck';
import { describeValue } from './describe';
import { formatPath, type PathSegment } from './paths';
import { configSchema, type ValidatedConfig } from './schema';
import { locate, readYaml, type YamlSource } from './yamlSource';
import type {
  AudioLimits,
  ConfigProblem,
  GovernorConfig,
  ModelLimits,
  ParseOptions,
  ParseResult,
  TeamConfig,
  UpstreamKeyConfig,
} from './types';

const DEFAULT_SOURCE = '<config>';
const DEFAULT_DATA_DIR = '.data';

/** Parse and validate YAML configuration text. `source` names it in messages (usually the file path). */
export function parseConfig(
  text: string,
  source: string = DEFAULT_SOURCE,
  options: ParseOptions = {},
): ParseResult {
  try {
    if (typeof text !== 'string') {
      return {
        ok: false,
        source,
        problems: [{ path: '(root)', message: 'configuration text must be a string' }],
      };
    }
    const yaml = readYaml(text);
    if (!yaml.ok) return { ok: false, source, problems: sortProblems(yaml.problems) };
    return validate(yaml.value, source, options, yaml.source);
  } catch (error) {
    return { ok: false, source, problems: [unexpected(error)] };
  }
}

/** Validate configuration that is already plain data (e.g. from JSON or a test). */
export function validateConfig(
  data: unknown,
  source: string = DEFAULT_SOURCE,
  options: ParseOptions = {},
): ParseResult {
  try {
    return validate(data, source, options, undefined);
  } catch (error) {
    return { ok: false, source, problems: [unexpected(error)] };
  }
}

function unexpected(error: unknown): ConfigProblem {
  const text = error instanceof Error ? error.message : String(error);
  return { path: '(root)', message: `could not read the configuration: ${text.split('\n')[0] ?? text}` };
}

function validate(
  data: unknown,
  source: string,
  options: ParseOptions,
  yaml: YamlSource | undefined,
): ParseResult {
  if (data === null || data === undefined) {
    return { ok: false, source, problems: [{ path: '(root)', message: 'the configuration is empty' }] };
  }
  const raw: { path: PathSegment[]; message: string }[] = [];
  const parsed = configSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) for (const issue of parsed.error.issues) raw.push(...issueProblems(issue, []));
  raw.push(...crossCheck(data));

  if (!parsed.success || raw.length > 0) {
    return { ok: false, source, problems: finish(raw, yaml) };
  }
  const config = build(parsed.data, options);
  return { ok: true, source, config, warnings: finish(warningsOf(config), yaml) };
}

function finish(
  raw: { path: PathSegment[]; message: string }[],
  yaml: YamlSource | undefined,
): ConfigProblem[] {
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  for (const { path, message } of raw) {
    const problem: ConfigProblem = { path: formatPath(path), message };
    const id = `${problem.path}\u0000${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const position = yaml ? locate(yaml, path) : undefined;
    if (position) Object.assign(problem, position);
    problems.push(problem);
  }
  return sortProblems(problems);
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort(
      (a, b) =>
        (a.problem.line ?? Infinity) - (b.problem.line ?? Infinity) ||
        (a.problem.column ?? 0) - (b.problem.column ?? 0) ||
        a.index - b.index,
    )
    .map(({ problem }) => problem);
}

// ---- zod issues -> problems ------------------------------------------------------------------------

const TYPE_NAMES: Record<string, string> = {
  string: 'text',
  record: 'a mapping (key: value)',
  map: 'a mapping (key: value)',
  number: 'a number',
  int: 'a whole number',
  object: 'a mapping (key: value)',
  array: 'a list',
  boolean: 'true or false',
};

function issueProblems(
  issue: z.core.$ZodIssue,
  prefix: PathSegment[],
): { path: PathSegment[]; message: string }[] {
  const path = [
    ...prefix,
    ...issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment))),
  ];
  const input: unknown = 'input' in issue ? issue.input : undefined;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: unknownFieldMessage(path, key) }));
    case 'invalid_key':
      return [{ path, message: issue.issues[0]?.message ?? `invalid name ${describeValue(input)}` }];
    case 'invalid_element':
      return issue.issues.flatMap((inner) => issueProblems(inner, path));
    case 'invalid_type': {
      const custom = issue.message && !issue.message.startsWith('Invalid input') ? issue.message : undefined;
      const want = custom ?? `expected ${expected(issue.expected)}`;
      if (input === undefined) return [{ path, message: `missing required field: ${want}` }];
      return [{ path, message: `${want}, got ${describeValue(input)}` }];
    }
    case 'too_small':
    case 'too_big':
      return [{ path, message: withGot(issue.message, input) }];
    default:
      return [{ path, message: issue.message }];
  }
}

function expected(name: string): string {
  return TYPE_NAMES[name] ?? name;
}

function withGot(message: string, input: unknown): string {
  return typeof input === 'number' ? `${message}, got ${describeValue(input)}` : message;
}

function unknownFieldMessage(parent: PathSegment[], key: string): string {
  const known = knownFields(parent);
  const suggestion = closest(key, known);
  const hint = suggestion
    ? ` (did you mean "${suggestion}"?)`
    : known.length > 0
      ? ` (known: ${known.join(', ')})`
      : '';
  return `unknown field ${JSON.stringify(key)}${hint}`;
}

/** Field names the schema allows at a path, found by walking the schema itself. */
function knownFields(path: PathSegment[]): string[] {
  let schema: unknown = configSchema;
  for (const segment of [...path, null]) {
    for (;;) {
      if (
        schema instanceof z.ZodOptional ||
        schema instanceof z.ZodDefault ||
        schema instanceof z.ZodPrefault
      ) {
        schema = schema.def.innerType;
      } else if (schema instanceof z.ZodPipe) {
        // a preprocess step is a pipe from a transform into the real schema
        schema = schema.def.in instanceof z.ZodTransform ? schema.def.out : schema.def.in;
      } else break;
    }
    if (segment === null) break;
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, unknown>)[String(segment)];
    else if (schema instanceof z.ZodRecord) schema = schema.def.valueType;
    else if (schema instanceof z.ZodArray) schema = schema.def.element;
    else return [];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance =
      candidate.toLowerCase() === word.toLowerCase()
        ? 0
        : editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  const allowed = Math.max(2, Math.floor(word.length / 3));
  if (best !== undefined && bestDistance <= allowed) return best;
  // a prefix or suffix (e.g. "maxTokens" for "maxTokensPerRequest")
  return candidates.find(
    (candidate) => word.length >= 3 && (candidate.startsWith(word) || word.startsWith(candidate)),
  );
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 10) return Infinity;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? Infinity;
}

// ---- validated data -> GovernorConfig ------------------------------------------------------------

function build(data: ValidatedConfig, options: ParseOptions): GovernorConfig {
  const dataDir = (options.dataDir ?? DEFAULT_DATA_DIR).replace(/\/+$/, '') || '.';
  const prices = new Map<string, ModelPrice>(
    Object.entries(data.pricing.models).map(([model, price]): [string, ModelPrice] => [
      model,
      {
        input: price.input,
        output: price.output,
        ...(price.cachedInput !== undefined ? { cachedInput: price.cachedInput } : {}),
      },
    ]),
  );
  const upstreamKeys = data.upstreamKeys.map((key): UpstreamKeyConfig => {
    const parts = parseKeyName(key.name);
    if (!parts) throw new Error(`unreachable: key name ${key.name} passed validation`);
    return { name: key.name, ...parts, ...(key.secretEnv !== undefined ? { secretEnv: key.secretEnv } : {}) };
  });
  const teams = new Map<string, TeamConfig>(
    Object.entries(data.teams).map(([name, team]) => {
      const config: TeamConfig = {
        name,
        allowedModels: team.allowedModels,
        maxTokensPerRequest: team.maxTokensPerRequest,
        monthlyBudgetNanos: team.monthlyBudgetUsd,
        rpm: team.rpm,
        tpm: team.tpm,
        concurrency: team.concurrency,
        upstreamKey: team.upstreamKey,
      };
      if (team.batch) config.batch = { maxConcurrency: team.batch.maxConcurrency };
      return [name, config];
    }),
  );
  return {
    org: {
      name: data.org.name,
      monthlyCapNanos: data.org.monthlyCapUsd,
      alertThresholds: data.org.alertThresholds,
      timezone: data.org.timezone,
      webhooks: data.org.webhooks,
    },
    groq: {
      baseUrl: data.groq.baseUrl,
      limits: new Map<string, ModelLimits>(Object.entries(data.groq.limits)),
      audioLimits: new Map<string, AudioLimits>(Object.entries(data.groq.audioLimits)),
    },
    pricing: {
      models: prices,
      audio: new Map<string, AudioPrice>(
        Object.entries(data.pricing.audio).map(([model, price]) => [
          model,
          { perHour: price.perHour, minimumSeconds: price.minimumSeconds },
        ]),
      ),
      speech: new Map<string, SpeechPrice>(
        Object.entries(data.pricing.speech).map(([model, price]) => [
          model,
          { perMillionCharacters: price.perMillionCharacters },
        ]),
      ),
      batchDiscountPercent: data.pricing.batchDiscountPercent,
      cachedDiscountPercent: data.pricing.cachedDiscountPercent,
    },
    upstreamKeys,
    teams,
    gateway: { ...data.gateway },
    reports: {
      schedule: { ...data.reports.schedule },
      catchupWindow: data.reports.catchupWindow.text,
      catchupWindowMs: data.reports.catchupWindow.ms,
      webhooks: data.reports.webhooks,
      directory: data.reports.directory ?? `${dataDir}/reports`,
    },
  };
}

// ---- warnings: legal but probably not meant ------------------------------------------------------

function warningsOf(config: GovernorConfig): { path: PathSegment[]; message: string }[] {
  const warnings: { path: PathSegment[]; message: string }[] = [];
  const cap = config.org.monthlyCapNanos;
  if (cap === 0n) {
    warnings.push({
      path: ['org', 'monthlyCapUsd'],
      message: 'the org cap is 0: every request will be refused',
    });
  }
  if (config.teams.size === 0) {
    warnings.push({ path: ['teams'], message: 'no teams: every request will be refused' });
  }
  const unlimited = new Set<string>();
  for (const team of config.teams.values()) {
    if (team.monthlyBudgetNanos > cap) {
      warnings.push({
        path: ['teams', team.name, 'monthlyBudgetUsd'],
        message: `budget ${formatUsd(team.monthlyBudgetNanos)} USD is above the org's monthly cap of ${formatUsd(cap)} USD: the org cap stops this team first`,
      });
    }
    const seen = new Set<string>();
    team.allowedModels.forEach((model, index) => {
      if (seen.has(model)) {
        warnings.push({
          path: ['teams', team.name, 'allowedModels', index],
          message: `model ${JSON.stringify(model)} is listed twice`,
        });
      }
      seen.add(model);
      if (!config.groq.limits.has(model) && !config.groq.audioLimits.has(model) && !unlimited.has(model)) {
        unlimited.add(model);
        warnings.push({
          path: ['teams', team.name, 'allowedModels', index],
          message: `no Groq limits for model ${JSON.stringify(model)} under groq.limits: only the teams' own rpm/tpm apply`,
        });
      }
    });
    if (team.maxTokensPerRequest > team.tpm) {
      warnings.push({
        path: ['teams', team.name, 'maxTokensPerRequest'],
        message: `${team.maxTokensPerRequest} is above the team's tpm of ${team.tpm}: a request asking for that many tokens can never run`,
      });
    }
    const owner = parseKeyName(team.upstreamKey)?.team;
    if (owner !== undefined && owner !== team.name) {
      warnings.push({
        path: ['teams', team.name, 'upstreamKey'],
        message: `key ${JSON.stringify(team.upstreamKey)} is named for team "${owner}", not "${team.name}"`,
      });
    }
  }
  return warnings;
}

// ---- presentation ---------------------------------------------------------------------------------

/** One line per problem: `  path: reason (line N)`. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map((problem) => {
      const where =
        problem.line !== undefined && !problem.path.startsWith('line ') ? ` (line ${problem.line})` : '';
      return `  ${problem.path}: ${problem.message}${where}`;
    })
    .join('\n');
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
    super(`${source}: invalid configuration, ${count}:\n${formatProblems(problems)}`);
    this.name = 'ConfigError';
  }
}
