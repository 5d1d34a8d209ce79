/**
 * The zod schema of the configuration file: shapes, types, ranges and formats of single fields, defaults,
 * and unknown keys (every object is strict). Checks that relate several fields live in crossCheck.ts, so
 * they run even when some unrelated field is broken.
 */
import { z } from 'zod';
import { usdToNanos, numberToDecimalString, type Nanos } from '../money';
import { keyNameProblem } from '../keyName';
import { parseDurationMs } from './duration';
import { describeValue } from './describe';
import { DAYS_OF_WEEK, type DayOfWeek } from './types';

export const DEFAULT_ALERT_THRESHOLDS = [50, 80, 95] as const;
export const DEFAULT_BASE_URL = 'https://api.groq.com';
export const DEFAULT_PORT = 8080;
export const DEFAULT_MAX_WAIT_MS = 10_000;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Groq's upload cap for speech to text: 25 MB */
export const DEFAULT_MAX_AUDIO_BYTES = 25 * 1024 * 1024;
/** batch input files (Groq: 100 MB) */
export const DEFAULT_MAX_BATCH_FILE_BYTES = 100 * 1024 * 1024;
export const DEFAULT_MAX_SPEECH_CHARACTERS = 10_000;
export const DEFAULT_CATCHUP_WINDOW = '1 day';
/** Temporal refuses schedule catch-up windows shorter than this */
export const MIN_CATCHUP_WINDOW_MS = 10_000;

const ENV_VAR_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DECIMAL_TEXT = /^\d+(?:\.\d+)?$/;

type Ctx = z.core.ParsePayload<unknown>;

function fail(ctx: Ctx, message: string): never {
  ctx.issues.push({ code: 'custom', message, input: ctx.value });
  return z.NEVER;
}

/** An exact USD amount >= 0, written as a decimal string or a number; becomes nanos. */
function usdAmount(what: string) {
  return z.unknown().transform((value, ctx): Nanos => {
    const example = `expected ${what} in USD as a decimal such as "500" or "0.59"`;
    let text: string;
    if (value === undefined) return fail(ctx, `missing required field: ${example}`);
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return fail(ctx, `${example}, got ${describeValue(value)}`);
      if (value < 0) return fail(ctx, `must be >= 0, got ${describeValue(value)}`);
      text = numberToDecimalString(value);
    } else if (typeof value === 'string') {
      text = value.trim();
      if (/^-\s*\d/.test(text)) return fail(ctx, `must be >= 0, got ${describeValue(value)}`);
      if (!DECIMAL_TEXT.test(text)) return fail(ctx, `${example}, got ${describeValue(value)}`);
    } else {
      return fail(ctx, `${example}, got ${describeValue(value)}`);
    }
    try {
      return usdToNanos(text);
    } catch {
      return fail(
        ctx,
        `${JSON.stringify(text)} has more than 9 decimal places (the smallest unit is 1 nano-dollar)`,
      );
    }
  });
}

/** An optional section or list left empty in YAML (`gateway:` with every line commented out) counts as absent. */
function emptyIsAbsent<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? undefined : value), schema);
}

const int = (message = 'expected a whole number') => z.number({ error: message }).int({ error: message });
const positiveInt = () => int('expected a whole number > 0').positive({ error: 'must be > 0' });

const httpUrl = z.string().refine(
  (text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
    } catch {
      return false;
    }
  },
  { error: (issue) => `expected an http(s) URL, got ${describeValue(issue.input)}` },
);

const timezone = z.string().transform((text, ctx) => {
  try {
    if (text.trim() === '') throw new RangeError('empty');
    return new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
  } catch {
    ctx.issues.push({
      code: 'custom',
      message: `unknown time zone ${JSON.stringify(text)}: expected an IANA name such as "Europe/Berlin" or "UTC"`,
      input: text,
    });
    return z.NEVER;
  }
});

const percent = (what: string) =>
  int(`expected a whole percent 0..100 for ${what}`)
    .min(0, { error: 'must be >= 0' })
    .max(100, { error: 'must be <= 100' });

const orgSchema = z.strictObject({
  name: z.string().trim().min(1, { error: 'must not be empty' }),
  monthlyCapUsd: usdAmount('the monthly cap'),
  alertThresholds: z
    .array(
      int('expected a whole percent 1..100')
        .min(1, { error: 'must be >= 1' })
        .max(100, { error: 'must be <= 100' }),
    )
    .default([...DEFAULT_ALERT_THRESHOLDS]),
  timezone,
  webhooks: emptyIsAbsent(z.array(httpUrl).default([])),
});

const modelLimitsSchema = z.strictObject({
  rpm: positiveInt(),
  rpd: positiveInt(),
  tpm: positiveInt(),
  tpd: positiveInt(),
});

/** Groq's limits of a speech-to-text model: requests, and audio seconds per hour (ASH) and per day (ASD). */
const audioLimitsSchema = z.strictObject({
  rpm: positiveInt(),
  rpd: positiveInt(),
  ash: positiveInt(),
  asd: positiveInt(),
});

const groqSchema = z.strictObject({
  baseUrl: httpUrl.default(DEFAULT_BASE_URL).transform((url) => url.replace(/\/+$/, '')),
  limits: emptyIsAbsent(z.record(z.string(), modelLimitsSchema).default({})),
  audioLimits: emptyIsAbsent(z.record(z.string(), audioLimitsSchema).default({})),
});

const priceSchema = z
  .strictObject({
    input: usdAmount('the price per 1M input tokens'),
    output: usdAmount('the price per 1M output tokens'),
    cachedInput: usdAmount('the price per 1M cached input tokens').optional(),
  })
  .superRefine((price, ctx) => {
    if (price.cachedInput !== undefined && price.cachedInput > price.input) {
      ctx.addIssue({
        code: 'custom',
        path: ['cachedInput'],
        message: 'a cached input price must not be above the input price',
      });
    }
  });

const audioPriceSchema = z.strictObject({
  perHour: usdAmount('the price per hour of audio'),
  minimumSeconds: int('expected a whole number of seconds >= 0')
    .min(0, { error: 'must be >= 0' })
    .default(10),
});

const speechPriceSchema = z.strictObject({
  perMillionCharacters: usdAmount('the price per 1M characters'),
});

const pricingSchema = z.strictObject({
  batchDiscountPercent: percent('batchDiscountPercent').default(50),
  cachedDiscountPercent: percent('cachedDiscountPercent').default(50),
  models: z.record(z.string(), priceSchema),
  audio: emptyIsAbsent(z.record(z.string(), audioPriceSchema).default({})),
  speech: emptyIsAbsent(z.record(z.string(), speechPriceSchema).default({})),
});

const upstreamKeySchema = z.strictObject({
  name: z.string().superRefine((name, ctx) => {
    const problem = keyNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  secretEnv: z
    .string()
    .regex(ENV_VAR_PATTERN, {
      error: (issue) => `not an environment variable name: ${describeValue(issue.input)}`,
    })
    .optional(),
});

const teamSchema = z.strictObject({
  allowedModels: z.array(z.string().min(1, { error: 'must not be empty' })).min(1, {
    error: 'must list at least one model',
  }),
  maxTokensPerRequest: positiveInt(),
  monthlyBudgetUsd: usdAmount('the monthly budget'),
  rpm: positiveInt(),
  tpm: positiveInt(),
  concurrency: positiveInt(),
  upstreamKey: z.string().min(1, { error: 'must not be empty' }),
  batch: z.strictObject({ maxConcurrency: positiveInt() }).optional(),
});

const gatewaySchema = z.strictObject({
  port: int('expected a port number 0..65535')
    .min(0, { error: 'must be >= 0' })
    .max(65535, { error: 'must be <= 65535' })
    .default(DEFAULT_PORT),
  maxWaitMs: int('expected a whole number of milliseconds >= 0')
    .min(0, { error: 'must be >= 0' })
    .default(DEFAULT_MAX_WAIT_MS),
  maxBodyBytes: positiveInt().default(DEFAULT_MAX_BODY_BYTES),
  /** speech to text: the largest upload (Groq: 25 MB) */
  maxAudioBytes: positiveInt().default(DEFAULT_MAX_AUDIO_BYTES),
  /** batch input files: the largest upload (Groq: 100 MB) */
  maxBatchFileBytes: positiveInt().default(DEFAULT_MAX_BATCH_FILE_BYTES),
  /** text to speech: the longest input, in characters */
  maxSpeechCharacters: positiveInt().default(DEFAULT_MAX_SPEECH_CHARACTERS),
  /**
   * realtime batches: upstream calls in flight per batch, and items a workflow run starts before
   * continuing as new; unset, both are sized from the limits (domain/batch-sizing.ts)
   */
  batchWindow: positiveInt().optional(),
  batchItemsPerRun: positiveInt().optional(),
});

const dayOfWeek = z.string().transform((text, ctx): DayOfWeek => {
  const upper = text.trim().toUpperCase();
  const day = DAYS_OF_WEEK.find((candidate) => candidate === upper);
  if (day) return day;
  ctx.issues.push({
    code: 'custom',
    message: `expected a day of the week (${DAYS_OF_WEEK.join(', ')}), got ${describeValue(text)}`,
    input: text,
  });
  return z.NEVER;
});

const catchupWindow = z.string().transform((text, ctx) => {
  const ms = parseDurationMs(text);
  if (ms === null) {
    ctx.issues.push({
      code: 'custom',
      message: `expected a duration such as "1 day", "12 hours" or "30m", got ${describeValue(text)}`,
      input: text,
    });
    return z.NEVER;
  }
  if (ms < MIN_CATCHUP_WINDOW_MS) {
    ctx.issues.push({
      code: 'custom',
      message: `must be at least 10 seconds, got ${JSON.stringify(text)}`,
      input: text,
    });
    return z.NEVER;
  }
  return { text: text.trim(), ms };
});

const reportsSchema = z.strictObject({
  schedule: emptyIsAbsent(
    z
      .strictObject({
        dayOfWeek: dayOfWeek.default('MONDAY'),
        hour: int('expected an hour 0..23')
          .min(0, { error: 'must be >= 0' })
          .max(23, { error: 'must be <= 23' })
          .default(9),
        minute: int('expected a minute 0..59')
          .min(0, { error: 'must be >= 0' })
          .max(59, { error: 'must be <= 59' })
          .default(0),
      })
      .prefault({}),
  ),
  catchupWindow: catchupWindow.default({ text: DEFAULT_CATCHUP_WINDOW, ms: 86_400_000 }),
  webhooks: emptyIsAbsent(z.array(httpUrl).default([])),
  directory: z.string().trim().min(1, { error: 'must not be empty' }).optional(),
});

export const configSchema = z.strictObject({
  org: orgSchema,
  groq: emptyIsAbsent(groqSchema.prefault({})),
  pricing: pricingSchema,
  upstreamKeys: z.array(upstreamKeySchema),
  teams: z.record(z.string(), teamSchema),
  gateway: emptyIsAbsent(gatewaySchema.prefault({})),
  reports: emptyIsAbsent(reportsSchema.prefault({})),
});

export type ValidatedConfig = z.output<typeof configSchema>;
