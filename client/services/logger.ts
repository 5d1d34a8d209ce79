/**
 * The structured logger of every long-running process: pino, one JSON object a line, with secrets and
 * content taken out before anything is written. Fields that carry credentials or prompt text are censored
 * by name wherever they sit, and any string that looks like a Groq (`gsk_`) or gateway (`ggk_`) key is
 * cut down to its fingerprint (`gsk_…last4`), so even an error message quoting a key is safe to ship.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { Logger } from '../../activities/alerts';

const CENSORED_FIELDS = [
  'authorization',
  'apiKey',
  'api_key',
  'secret',
  'password',
  'key',
  'messages',
  'prompt',
  'content',
  'completion',
];
const REDACT_PATHS = CENSORED_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);
const KEY_PATTERN = /\b(gsk|ggk)_[A-Za-z0-9_-]{8,}/g;

/** Any key-looking token in a string, cut down to its fingerprint. */
export function scrubKeys(text: string): string {
  return text.replace(KEY_PATTERN, (key, prefix: string) => `${prefix}_…${key.slice(-4)}`);
}

function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubKeys(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: scrubKeys(value.message) };
  if (Array.isArray(value)) return value.map((item) => scrubDeep(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, scrubDeep(item, depth + 1)]));
}

export interface GovernorLogger extends Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  pino: PinoLogger;
}

export interface LoggerOptions {
  /** pino level; default LOG_LEVEL or 'info' */
  level?: string;
  /** where lines go; default stdout */
  destination?: DestinationStream;
  /** fixed fields on every line, e.g. { component: 'gateway' } */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): GovernorLogger {
  const logger = pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: options.base ?? {},
      messageKey: 'message',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => scrubDeep(fields) as Record<string, unknown>,
      },
    },
    options.destination,
  );
  const at =
    (level: 'info' | 'warn' | 'error') =>
    (message: string, fields: Record<string, unknown> = {}): void =>
      logger[level](fields, scrubKeys(message));
  return { info: at('info'), warn: at('warn'), error: at('error'), pino: logger };
}
