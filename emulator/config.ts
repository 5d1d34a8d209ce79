/**
 * Emulator configuration: a zod schema, defaults from the reference, YAML loading, and errors that list
 * every problem as `path: reason`. The schema's input is what a YAML file (or startEmulator's `config`)
 * may hold; `resolveConfig` turns it into the complete EmulatorConfig the server runs on.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { numberToDecimalString } from '../domain/money';
import { DEFAULT_CONTEXT_WINDOW, DEFAULT_MODELS, FALLBACK_LIMITS, type RateLimits } from './catalog';
import { KEY_SECRET_PATTERN } from './ids';

export type { RateLimits } from './catalog';

const DECIMAL = /^\d+(?:\.\d+)?$/;

const decimal = z
  .union([
    z.string().trim().regex(DECIMAL, 'must be a non-negative decimal number such as "0.05"'),
    z.number().finite().nonnegative(),
  ])
  .transform((value) => (typeof value === 'number' ? numberToDecimalString(value) : value));

const positiveInt = z.number().int().positive();
const nonNegative = z.number().finite().nonnegative();
const percent = z.number().int().min(0).max(100);

export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/;

export const keySchema = z.strictObject({
  name: z
    .string()
    .regex(KEY_NAME_PATTERN, 'must be 1-64 letters, digits or ._:@- (starting with a letter or digit)'),
  secret: z.string().regex(KEY_SECRET_PATTERN, 'must be gsk_ followed by 52 letters or digits'),
});

const limitsSchema = z.strictObject({
  rpm: positiveInt.optional(),
  rpd: positiveInt.optional(),
  tpm: positiveInt.optional(),
  tpd: positiveInt.optional(),
  /** speech-to-text models: audio seconds per hour and per day */
  ash: positiveInt.optional(),
  asd: positiveInt.optional(),
});

const modelSchema = z.strictObject({
  /** chat (default; also serves the Responses API), audio (speech to text) or speech (text to speech) */
  kind: z.enum(['chat', 'audio', 'speech']).optional(),
  price: z
    .strictObject({
      input: decimal.optional(),
      output: decimal.optional(),
      cachedInput: decimal.optional(),
      /** audio: USD per hour, billed per second with a minimum per request */
      perHour: decimal.optional(),
      minimumSeconds: z.number().int().nonnegative().optional(),
      /** speech: USD per 1M input characters */
      perMillionCharacters: decimal.optional(),
    })
    .optional(),
  limits: limitsSchema.optional(),
  contextWindow: positiveInt.optional(),
  maxCompletionTokens: positiveInt.optional(),
  ownedBy: z.string().min(1).optional(),
  created: z.number().int().nonnegative().optional(),
  active: z.boolean().optional(),
});

export const emulatorConfigSchema = z.strictObject({
  orgId: z
    .string()
    .regex(/^org_[A-Za-z0-9]+$/, 'must look like org_ followed by letters or digits')
    .default('org_01emulator0000000000000000'),
  keys: z.array(keySchema).default([]),
  /** false: serve only the models listed under `models` */
  includeDefaultModels: z.boolean().default(true),
  /** whose limits the x-ratelimit-* headers show when a request names no (known) model */
  defaultModel: z.string().min(1).optional(),
  models: z.record(z.string().min(1), modelSchema).default({}),
  batchDiscountPercent: percent.default(50),
  cachedDiscountPercent: percent.default(50),
  /** added before every chat completion answers (ms) */
  latencyMs: nonNegative.default(0),
  /** added between streamed tokens (ms) */
  perTokenLatencyMs: nonNegative.default(0),
  rateLimits: z
    .strictObject({
      /** bucket: continuous refill (Groq-like); fixed: counters reset on clock-aligned windows */
      algorithm: z.enum(['bucket', 'fixed']).default('bucket'),
      /** false: never answer 429/413 (headers are still sent) */
      enforce: z.boolean().default(true),
    })
    .default({ algorithm: 'bucket', enforce: true }),
  batch: z
    .strictObject({
      /** requests of one batch in flight at once */
      concurrency: positiveInt.default(4),
      /** time spent in `validating` (ms) */
      validatingMs: nonNegative.default(50),
      /** time spent per request (ms) */
      requestMs: nonNegative.default(0),
      /** time spent in `finalizing` (ms) */
      finalizingMs: nonNegative.default(50),
    })
    .default({ concurrency: 4, validatingMs: 50, requestMs: 0, finalizingMs: 50 }),
  /** largest chat/admin request body (bytes); files may be up to 100 MB */
  maxBodyBytes: positiveInt.default(32 * 1024 * 1024),
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Problems that involve more than one field (duplicate keys, unpriced new models, an unknown default
 * model). Reads the raw input defensively so they are listed even when other fields are malformed.
 */
function crossFieldProblems(input: unknown): { path: PropertyKey[]; message: string }[] {
  const problems: { path: PropertyKey[]; message: string }[] = [];
  if (!isRecord(input)) return problems;
  const names = new Set<unknown>();
  const secrets = new Set<unknown>();
  if (Array.isArray(input.keys)) {
    input.keys.forEach((key: unknown, index) => {
      if (!isRecord(key)) return;
      if (typeof key.name === 'string' && names.has(key.name))
        problems.push({ path: ['keys', index, 'name'], message: `duplicate key name ${key.name}` });
      if (typeof key.secret === 'string' && secrets.has(key.secret))
        problems.push({ path: ['keys', index, 'secret'], message: 'duplicate secret' });
      names.add(key.name);
      secrets.add(key.secret);
    });
  }
  const includeDefaults = input.includeDefaultModels !== false;
  const models = isRecord(input.models) ? input.models : {};
  for (const [id, model] of Object.entries(models)) {
    if (includeDefaults && id in DEFAULT_MODELS) continue;
    const price = isRecord(model) && isRecord(model.price) ? model.price : {};
    const kind = isRecord(model) ? model.kind : undefined;
    const required =
      kind === 'audio'
        ? (['perHour'] as const)
        : kind === 'speech'
          ? (['perMillionCharacters'] as const)
          : (['input', 'output'] as const);
    for (const field of required) {
      if (price[field] === undefined) {
        problems.push({
          path: ['models', id, 'price', field],
          message: 'required for a model that is not one of the defaults',
        });
      }
    }
  }
  const modelIds = new Set([...(includeDefaults ? Object.keys(DEFAULT_MODELS) : []), ...Object.keys(models)]);
  if (modelIds.size === 0) problems.push({ path: ['models'], message: 'no models configured' });
  if (
    input.defaultModel !== undefined &&
    typeof input.defaultModel === 'string' &&
    !modelIds.has(input.defaultModel)
  ) {
    problems.push({ path: ['defaultModel'], message: `not a configured model: ${input.defaultModel}` });
  }
  return problems;
}

/** What a config file or `startEmulator({ config })` may hold. */
export type EmulatorConfigInput = z.input<typeof emulatorConfigSchema>;
export type KeySpec = z.infer<typeof keySchema>;

export interface ModelSpec {
  id: string;
  /** chat (and the Responses API), audio (speech to text) or speech (text to speech) */
  kind: 'chat' | 'audio' | 'speech';
  price: { input: string; output: string; cachedInput?: string };
  /** audio models: USD per hour and the minimum billed seconds per request */
  audioPrice?: { perHour: string; minimumSeconds: number };
  /** speech models: USD per 1M characters */
  speechPrice?: { perMillionCharacters: string };
  limits: RateLimits;
  /** audio models: audio seconds per hour (ASH) and per day (ASD) */
  audioLimits?: { ash: number; asd: number };
  contextWindow: number;
  maxCompletionTokens?: number;
  ownedBy: string;
  created: number;
  active: boolean;
}

/** The complete configuration the emulator runs on. */
export interface EmulatorConfig {
  orgId: string;
  keys: KeySpec[];
  models: ModelSpec[];
  defaultModel: string;
  batchDiscountPercent: number;
  cachedDiscountPercent: number;
  latencyMs: number;
  perTokenLatencyMs: number;
  rateLimitAlgorithm: 'bucket' | 'fixed';
  enforceRateLimits: boolean;
  batch: { concurrency: number; validatingMs: number; requestMs: number; finalizingMs: number };
  maxBodyBytes: number;
}

/** Thrown for an invalid configuration; `problems` holds one `path: reason` line per problem. */
export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    source = 'emulator config',
  ) {
    super(`${source} is invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `models["openai/gpt-oss-20b"].limits.rpm`, `keys[0].secret`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment))
      out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** Validate and complete a config; throws ConfigError listing every problem. */
export function resolveConfig(input: unknown = {}, source?: string): EmulatorConfig {
  const parsed = emulatorConfigSchema.safeParse(input ?? {});
  const issues = [...(parsed.success ? [] : parsed.error.issues), ...crossFieldProblems(input ?? {})];
  if (!parsed.success || issues.length > 0) {
    throw new ConfigError(
      issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`),
      source,
    );
  }
  const config = parsed.data;
  const models: ModelSpec[] = [];
  const ids = [
    ...(config.includeDefaultModels ? Object.keys(DEFAULT_MODELS) : []),
    ...Object.keys(config.models).filter((id) => !(config.includeDefaultModels && id in DEFAULT_MODELS)),
  ];
  for (const id of ids) {
    const base = config.includeDefaultModels ? DEFAULT_MODELS[id] : undefined;
    const override = config.models[id] ?? {};
    const price: ModelSpec['price'] = {
      input: override.price?.input ?? base?.input ?? '0',
      output: override.price?.output ?? base?.output ?? '0',
    };
    if (override.price?.cachedInput !== undefined) price.cachedInput = override.price.cachedInput;
    const { ash, asd, ...tokenLimits } = override.limits ?? {};
    const spec: ModelSpec = {
      id,
      kind: override.kind ?? 'chat',
      price,
      limits: { ...FALLBACK_LIMITS, ...base?.limits, ...stripUndefined(tokenLimits) },
      contextWindow: override.contextWindow ?? DEFAULT_CONTEXT_WINDOW,
      ownedBy: override.ownedBy ?? base?.ownedBy ?? 'Groq Emulator',
      created: override.created ?? base?.created ?? 1700000000,
      active: override.active ?? true,
    };
    if (override.maxCompletionTokens !== undefined) spec.maxCompletionTokens = override.maxCompletionTokens;
    if (spec.kind === 'audio') {
      spec.audioPrice = {
        perHour: override.price?.perHour ?? '0',
        minimumSeconds: override.price?.minimumSeconds ?? 10,
      };
      if (ash !== undefined || asd !== undefined) {
        spec.audioLimits = { ash: ash ?? Number.MAX_SAFE_INTEGER, asd: asd ?? Number.MAX_SAFE_INTEGER };
      }
    }
    if (spec.kind === 'speech') {
      spec.speechPrice = { perMillionCharacters: override.price?.perMillionCharacters ?? '0' };
    }
    models.push(spec);
  }
  return {
    orgId: config.orgId,
    keys: config.keys,
    models,
    defaultModel: config.defaultModel ?? models[0]?.id ?? '',
    batchDiscountPercent: config.batchDiscountPercent,
    cachedDiscountPercent: config.cachedDiscountPercent,
    latencyMs: config.latencyMs,
    perTokenLatencyMs: config.perTokenLatencyMs,
    rateLimitAlgorithm: config.rateLimits.algorithm,
    enforceRateLimits: config.rateLimits.enforce,
    batch: config.batch,
    maxBodyBytes: config.maxBodyBytes,
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** YAML text to a plain object (not yet validated); syntax errors are listed as ConfigError. */
export function parseYamlInput(text: string, source = 'emulator config'): unknown {
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      document.errors.map((error) => {
        const at = error.linePos?.[0];
        return `${at ? `line ${at.line}, column ${at.col}` : '(yaml)'}: ${error.message.split('\n')[0]}`;
      }),
      source,
    );
  }
  return document.toJS() ?? {};
}

/** Parse YAML text into a config; YAML syntax errors and schema problems are all listed. */
export function parseConfigYaml(text: string, source = 'emulator config'): EmulatorConfig {
  return resolveConfig(parseYamlInput(text, source), source);
}

/** A config file's contents as a plain object, not yet validated. */
export async function readConfigInput(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`(file): cannot read ${path}: ${(error as Error).message}`], path);
  }
  return parseYamlInput(text, path);
}

/** Load, validate and complete a YAML config file. */
export async function loadConfigFile(path: string): Promise<EmulatorConfig> {
  return resolveConfig(await readConfigInput(path), path);
}
