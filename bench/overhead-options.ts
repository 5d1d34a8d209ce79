/** The command line of `bench:overhead` (bench/overhead.ts). */
import { parseArgs } from 'node:util';

export interface OverheadOptions {
  levels: number[];
  requests: number[];
  latencyMs: number;
  durationS: number;
  sustainedConcurrency: number;
  /** streamed requests per path for the time to first token, at concurrency 1 */
  streamRequests: number;
  quick: boolean;
  /** time every ledger method and SQL statement and print where the time went */
  profile: boolean;
  /** write the figures as JSON to this file */
  json?: string;
  /** run against a fresh database created (and dropped) on the PostgreSQL at 127.0.0.1:5432 */
  postgres: boolean;
}

function parseList(text: string, name: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((value) => !Number.isSafeInteger(value) || value <= 0))
    throw new Error(
      `--${name} takes positive whole numbers separated by commas, got ${JSON.stringify(text)}`,
    );
  return values;
}

function parseNumber(text: string | undefined, name: string, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}`);
  return value;
}

export function parseOverheadOptions(argv: string[]): OverheadOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      levels: { type: 'string' },
      requests: { type: 'string' },
      'latency-ms': { type: 'string' },
      duration: { type: 'string' },
      'sustained-concurrency': { type: 'string' },
      'stream-requests': { type: 'string' },
      profile: { type: 'boolean', default: false },
      json: { type: 'string' },
      postgres: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const levels = values.levels ? parseList(values.levels, 'levels') : [1, 16, 64];
  // requests per level: given, or by level (200 at 1, 800 at 16, 2000 at 64; a tenth with --quick)
  const perLevel = (level: number) => {
    const full = level <= 1 ? 200 : level <= 16 ? 800 : Math.max(2000, level * 30);
    return quick ? Math.max(level * 2, Math.ceil(full / 10)) : full;
  };
  let requests = levels.map(perLevel);
  if (values.requests) {
    const given = parseList(values.requests, 'requests');
    requests = levels.map((level, index) => given[index] ?? given[given.length - 1] ?? perLevel(level));
  }
  if (values.postgres === true && process.env.DATABASE_URL)
    throw new Error('--postgres creates its own database: unset DATABASE_URL, or drop --postgres to use it');
  return {
    levels,
    requests,
    latencyMs: parseNumber(values['latency-ms'], 'latency-ms', 20, 0),
    durationS: parseNumber(values.duration, 'duration', quick ? 10 : 60, 1),
    sustainedConcurrency: parseNumber(values['sustained-concurrency'], 'sustained-concurrency', 64, 1),
    streamRequests: parseNumber(values['stream-requests'], 'stream-requests', quick ? 30 : 200, 1),
    quick,
    profile: values.profile === true,
    ...(values.json ? { json: values.json } : {}),
    postgres: values.postgres === true,
  };
}
