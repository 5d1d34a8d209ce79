/**
 * What `bench:batch` is asked (its flags) and what it submits (a JSONL file written line by line to
 * disk, so neither the benchmark nor the CLI path it uses holds the file).
 *
 * Limits: without a flag the team runs at Groq's developer-plan RPM (`DEVELOPER_PLAN_RPM`, 1,000
 * requests per minute; the batch share of it is the ceiling); `--raised-limits` raises the team to
 * 10,000,000 RPM (an organization whose limits Groq raised: the ceiling is then the window over the
 * emulator's latency); `--rpm N` sets any other team RPM. Model limits are raised in every case.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { HUGE } from './support';

/** Groq's developer-plan requests per minute, the benchmark's default team limit. */
export const DEVELOPER_PLAN_RPM = 1000;
export const BENCH_MODEL = 'llama-3.1-8b-instant';

export interface BatchBenchOptions {
  lines: number;
  latencyMs: number;
  /** unset: the workflow sizes it from the limits */
  window: number | undefined;
  itemsPerRun: number | undefined;
  rpm: number;
  limits: 'developer plan' | 'raised' | 'custom';
  workerProcess: boolean;
  workerNodeOptions: string;
  json: string | undefined;
  /** stop (cancel the batch) after this many seconds of running; 0: never */
  maxSeconds: number;
  rssLog: string | undefined;
  /** seconds between the lines of --rss-log */
  rssEvery: number;
  /** lines after which the worker counts as warmed up (the flat-RSS check) */
  warmupLines: number;
}

export function batchBenchOptions(argv: string[]): BatchBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      lines: { type: 'string', default: '10000' },
      'latency-ms': { type: 'string', default: '50' },
      window: { type: 'string' },
      'items-per-run': { type: 'string' },
      rpm: { type: 'string' },
      'raised-limits': { type: 'boolean', default: false },
      'worker-process': { type: 'boolean', default: false },
      'worker-node-options': { type: 'string', default: '' },
      json: { type: 'string' },
      'max-seconds': { type: 'string', default: '0' },
      'rss-log': { type: 'string' },
      'rss-every': { type: 'string', default: '5' },
      'warmup-lines': { type: 'string', default: '50000' },
    },
    strict: true,
  });
  const number = (name: keyof typeof values) => {
    const value = Number(values[name]);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} takes a whole number`);
    return value;
  };
  const raised = values['raised-limits'] === true;
  if (raised && values.rpm !== undefined) throw new Error('--raised-limits and --rpm exclude each other');
  return {
    lines: number('lines'),
    latencyMs: number('latency-ms'),
    window: values.window !== undefined ? number('window') : undefined,
    itemsPerRun: values['items-per-run'] !== undefined ? number('items-per-run') : undefined,
    rpm: values.rpm !== undefined ? number('rpm') : raised ? HUGE.rpm : DEVELOPER_PLAN_RPM,
    limits: values.rpm !== undefined ? 'custom' : raised ? 'raised' : 'developer plan',
    workerProcess: values['worker-process'] === true,
    workerNodeOptions: values['worker-node-options'] ?? '',
    json: values.json,
    maxSeconds: number('max-seconds'),
    rssLog: values['rss-log'],
    rssEvery: Math.max(1, number('rss-every')),
    warmupLines: number('warmup-lines'),
  };
}

/** One benchmark line (about 200 bytes: a million lines are a 200 MB file; the benchmark raises the upload cap to fit). */
export function benchLine(n: number): string {
  return JSON.stringify({
    custom_id: `b-${n}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: {
      model: BENCH_MODEL,
      messages: [{ role: 'user', content: `Line ${n}: say hello.` }],
      max_completion_tokens: 16,
    },
  });
}

/** Writes `lines` benchmark lines to `path` a line at a time; the file's size in bytes. */
export async function writeBenchFile(path: string, lines: number): Promise<number> {
  const stream = createWriteStream(path);
  let bytes = 0;
  for (let n = 0; n < lines; n++) {
    const text = `${benchLine(n)}${n + 1 < lines ? '\n' : ''}`;
    bytes += Buffer.byteLength(text);
    if (!stream.write(text)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
  return bytes;
}
