/**
 * The Batch API (`/openai/v1/batches`). A batch validates its input file (every problem listed in
 * Groq's `errors` format with 1-based line numbers; any problem fails the batch), then runs its lines in
 * the background with bounded concurrency through the same completion logic as realtime calls (billed
 * at the batch price, not rate limited), and writes an output file (successful lines) and an error file
 * (failed lines) in input order.
 *
 * Statuses: validating → in_progress → finalizing → completed; validating → failed; cancel:
 * → cancelling → cancelled (lines already done are kept); past `expires_at` (emulator clock):
 * → expired (lines not run go to the error file as `batch_expired`).
 */
import { batchId, batchRequestOutputId } from './ids';
import type { FileStore } from './files';

export const BATCH_ENDPOINT = '/v1/chat/completions';
export const MAX_BATCH_LINES = 50_000;

export type BatchStatus =
  | 'validating'
  | 'failed'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'expired'
  | 'cancelling'
  | 'cancelled';

export interface BatchError {
  code: string;
  line: number | null;
  message: string;
  param: string | null;
}

export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: string;
  errors: { object: 'list'; data: BatchError[] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, unknown> | null;
}

/** The result of running one line. */
export interface LineResult {
  statusCode: number;
  requestId: string;
  body: unknown;
}

export interface BatchLine {
  customId: string;
  body: Record<string, unknown>;
}

export interface BatchRunnerOptions {
  files: FileStore;
  now: () => number;
  speed: () => { concurrency: number; validatingMs: number; requestMs: number; finalizingMs: number };
  /** run one line (bill it when it succeeds) */
  runLine: (line: BatchLine, batch: { id: string; keyName: string }) => LineResult;
}

interface BatchRecord {
  object: BatchObject;
  keyName: string;
  cancelRequested: boolean;
}

/** `24h` .. `7d` in hours, or undefined when outside the range or malformed. */
export function completionWindowHours(window: string): number | undefined {
  const match = /^(\d+)([hd])$/.exec(window);
  if (!match) return undefined;
  const hours = Number(match[1]) * (match[2] === 'd' ? 24 : 1);
  return hours >= 24 && hours <= 168 ? hours : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parse and validate a batch input file. */
export function validateBatchInput(
  content: Buffer,
  endpoint: string,
): { lines: BatchLine[]; errors: BatchError[] } {
  const text = content.toString('utf8');
  const raw = text.split('\n');
  while (raw.length > 0 && raw[raw.length - 1]?.trim() === '') raw.pop();
  const errors: BatchError[] = [];
  const lines: BatchLine[] = [];
  const seen = new Set<string>();
  if (raw.length === 0) {
    errors.push({ code: 'empty_file', line: null, message: 'The input file is empty.', param: null });
  }
  if (raw.length > MAX_BATCH_LINES) {
    errors.push({
      code: 'too_many_requests',
      line: null,
      message: `A batch may hold at most ${MAX_BATCH_LINES} requests; this file has ${raw.length}.`,
      param: null,
    });
  }
  raw.forEach((textLine, index) => {
    const line = index + 1;
    const fail = (code: string, message: string, param: string | null = null): void => {
      errors.push({ code, line, message, param });
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(textLine);
    } catch {
      fail('invalid_json_line', 'This line is not parseable as valid JSON.');
      return;
    }
    if (!isObject(parsed)) {
      fail('invalid_json_line', 'This line is not a JSON object.');
      return;
    }
    const { custom_id: customId, method, url, body } = parsed;
    let ok = true;
    if (typeof customId !== 'string' || customId === '') {
      fail('missing_required_parameter', 'Each request needs a string custom_id.', 'custom_id');
      ok = false;
    } else if (seen.has(customId)) {
      fail(
        'duplicate_custom_id',
        `The custom_id ${JSON.stringify(customId)} is used more than once.`,
        'custom_id',
      );
      ok = false;
    } else seen.add(customId);
    if (method !== 'POST') {
      fail('invalid_method', 'Only the POST method is supported.', 'method');
      ok = false;
    }
    if (url !== endpoint) {
      fail(
        'invalid_url',
        `The URL provided for this request does not match the batch endpoint (${endpoint}).`,
        'url',
      );
      ok = false;
    }
    if (!isObject(body)) {
      fail('missing_required_parameter', 'Each request needs a JSON object body.', 'body');
      ok = false;
    }
    if (ok) lines.push({ customId: customId as string, body: body as Record<string, unknown> });
  });
  return { lines, errors };
}

const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));

export class BatchRunner {
  private batches = new Map<string, BatchRecord>();
  private running = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: BatchRunnerOptions) {}

  private seconds(): number {
    return Math.floor(this.options.now() / 1000);
  }

  create(request: {
    inputFileId: string;
    endpoint: string;
    completionWindow: string;
    metadata: Record<string, unknown> | null;
    keyName: string;
  }): BatchObject {
    const now = this.options.now();
    const created = Math.floor(now / 1000);
    const hours = completionWindowHours(request.completionWindow) ?? 24;
    const object: BatchObject = {
      id: batchId(now),
      object: 'batch',
      endpoint: request.endpoint,
      errors: null,
      input_file_id: request.inputFileId,
      completion_window: request.completionWindow,
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: created,
      in_progress_at: null,
      expires_at: created + hours * 3600,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: request.metadata,
    };
    const record: BatchRecord = { object, keyName: request.keyName, cancelRequested: false };
    this.batches.set(object.id, record);
    const run = this.run(record).catch((error: unknown) => {
      record.object.status = 'failed';
      record.object.failed_at = this.seconds();
      record.object.errors = {
        object: 'list',
        data: [{ code: 'internal_error', line: null, message: String(error), param: null }],
      };
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return structuredClone(object);
  }

  get(id: string): BatchObject | undefined {
    const record = this.batches.get(id);
    return record ? structuredClone(record.object) : undefined;
  }

  /** Newest first. */
  list(): BatchObject[] {
    return [...this.batches.values()].map((record) => structuredClone(record.object)).reverse();
  }

  /** Ask a batch to stop; returns the batch, or a reason it cannot be cancelled. */
  cancel(id: string): BatchObject | 'not_found' | 'not_cancellable' {
    const record = this.batches.get(id);
    if (!record) return 'not_found';
    const { status } = record.object;
    if (status === 'cancelling' || status === 'cancelled') return structuredClone(record.object);
    if (status !== 'validating' && status !== 'in_progress') return 'not_cancellable';
    record.cancelRequested = true;
    record.object.status = 'cancelling';
    record.object.cancelling_at = this.seconds();
    return structuredClone(record.object);
  }

  /** Resolves when no batch is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Stop all work (running batches stop taking lines). */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  clear(): void {
    this.batches = new Map();
  }

  private async run(record: BatchRecord): Promise<void> {
    const batch = record.object;
    const speed = this.options.speed();
    await delay(speed.validatingMs);
    if (this.closed) return;
    if (record.cancelRequested) {
      batch.status = 'cancelled';
      batch.cancelled_at = this.seconds();
      return;
    }
    const content = this.options.files.content(batch.input_file_id);
    const { lines, errors } = content
      ? validateBatchInput(content, batch.endpoint)
      : {
          lines: [],
          errors: [
            { code: 'file_not_found', line: null, message: 'The input file no longer exists.', param: null },
          ],
        };
    if (errors.length > 0) {
      batch.status = 'failed';
      batch.failed_at = this.seconds();
      batch.errors = { object: 'list', data: errors };
      return;
    }
    batch.status = 'in_progress';
    batch.in_progress_at = this.seconds();
    batch.request_counts.total = lines.length;

    const outputs: (string | undefined)[] = new Array(lines.length);
    const failures: (string | undefined)[] = new Array(lines.length);
    let next = 0;
    let expired = false;
    const worker = async (): Promise<void> => {
      while (next < lines.length && !record.cancelRequested && !expired && !this.closed) {
        if (this.seconds() >= batch.expires_at) {
          expired = true;
          break;
        }
        const index = next++;
        const line = lines[index] as BatchLine;
        await delay(speed.requestMs);
        if (record.cancelRequested || this.closed) break;
        const result = this.options.runLine(line, { id: batch.id, keyName: record.keyName });
        const text = JSON.stringify({
          id: batchRequestOutputId(this.options.now()),
          custom_id: line.customId,
          response: { status_code: result.statusCode, request_id: result.requestId, body: result.body },
          error: null,
        });
        if (result.statusCode === 200) {
          outputs[index] = text;
          batch.request_counts.completed++;
        } else {
          failures[index] = text;
          batch.request_counts.failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(speed.concurrency, Math.max(1, lines.length)) }, worker));
    if (this.closed) return;

    if (expired) {
      lines.forEach((line, index) => {
        if (outputs[index] === undefined && failures[index] === undefined) {
          failures[index] = JSON.stringify({
            id: batchRequestOutputId(this.options.now()),
            custom_id: line.customId,
            response: null,
            error: {
              code: 'batch_expired',
              message: 'This request could not be executed before the completion window expired.',
            },
          });
          batch.request_counts.failed++;
        }
      });
    }

    if (!record.cancelRequested && !expired) {
      batch.status = 'finalizing';
      batch.finalizing_at = this.seconds();
      await delay(speed.finalizingMs);
      if (this.closed) return;
    }
    const done = (list: (string | undefined)[]): string[] =>
      list.filter((item): item is string => item !== undefined);
    const okLines = done(outputs);
    const errorLines = done(failures);
    if (okLines.length > 0) {
      batch.output_file_id = this.options.files.create(
        `batch_${batch.id.slice('batch_'.length)}_output.jsonl`,
        'batch_output',
        Buffer.from(okLines.join('\n') + '\n'),
      ).id;
    }
    if (errorLines.length > 0) {
      batch.error_file_id = this.options.files.create(
        `batch_${batch.id.slice('batch_'.length)}_error.jsonl`,
        'batch_output',
        Buffer.from(errorLines.join('\n') + '\n'),
      ).id;
    }
    const at = this.seconds();
    if (record.cancelRequested) {
      batch.status = 'cancelled';
      batch.cancelled_at = at;
    } else if (expired) {
      batch.status = 'expired';
      batch.expired_at = at;
    } else {
      batch.status = 'completed';
      batch.completed_at = at;
    }
  }
}
