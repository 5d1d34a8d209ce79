/**
 * Batch jobs in the ledger: uploaded files, batches (Groq's batch object and how it runs) and one row
 * per item with its state and result. Input file contents live here, so workflows only carry ids. A
 * batch's output and error files are built from its items when they are downloaded.
 */
import {
  asBigint,
  asDate,
  asNullableDate,
  asNullableString,
  asNumber,
  asString,
  toJsonText,
  type SqlRow,
  type SqlSession,
} from './sql';
import { CHUNK_CHARS, fileChunks, FileChunkWriter } from './batch-file-chunks';

export type BatchStatus =
  | 'validating'
  | 'failed'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'expired'
  | 'cancelling'
  | 'cancelled';
export const FINAL_BATCH_STATUSES: readonly BatchStatus[] = ['failed', 'completed', 'expired', 'cancelled'];

export type BatchItemState = 'pending' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

export interface BatchFile {
  id: string;
  kind: 'input' | 'output' | 'error';
  purpose: string;
  filename: string;
  team: string | null;
  gatewayKeyId: string | null;
  batchId: string | null;
  bytes: number;
  createdAt: Date;
}

export interface BatchRow {
  id: string;
  team: string;
  gatewayKeyId: string;
  inputFileId: string;
  endpoint: string;
  completionWindow: string;
  windowMs: number;
  mode: 'realtime' | 'groq-batch';
  skipInvalidLines: boolean;
  status: BatchStatus;
  paused: boolean;
  metadata: Record<string, string> | null;
  errors: unknown[] | null;
  outputFileId: string | null;
  errorFileId: string | null;
  upstreamBatchId: string | null;
  total: number;
  createdAt: Date;
  inProgressAt: Date | null;
  finalizingAt: Date | null;
  completedAt: Date | null;
  failedAt: Date | null;
  expiresAt: Date;
  expiredAt: Date | null;
  cancellingAt: Date | null;
  cancelledAt: Date | null;
}

export interface BatchCounts {
  total: number;
  completed: number;
  failed: number;
  pending: number;
  spendNanos: bigint;
}

export interface BatchItem {
  seq: number;
  line: number;
  customId: string;
  body: Record<string, unknown>;
  state: BatchItemState;
  attempts: number;
  costNanos: bigint;
}

export interface ItemOutcome {
  state: Exclude<BatchItemState, 'pending'>;
  statusCode: number | null;
  upstreamRequestId: string | null;
  /** the response body (a chat.completion, or Groq's error body) */
  response: Record<string, unknown> | null;
  /** a failure without an HTTP answer: `{code, message}` */
  error: { code: string; message: string } | null;
  costNanos: bigint;
}

function toFile(row: SqlRow): BatchFile {
  return {
    id: asString(row.id, 'id'),
    kind: asString(row.kind, 'kind') as BatchFile['kind'],
    purpose: asString(row.purpose, 'purpose'),
    filename: asString(row.filename, 'filename'),
    team: asNullableString(row.team, 'team'),
    gatewayKeyId: asNullableString(row.gateway_key_id, 'gateway_key_id'),
    batchId: asNullableString(row.batch_id, 'batch_id'),
    bytes: asNumber(row.bytes, 'bytes'),
    createdAt: asDate(row.created_at, 'created_at'),
  };
}

function json<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

function toBatch(row: SqlRow): BatchRow {
  return {
    id: asString(row.id, 'id'),
    team: asString(row.team, 'team'),
    gatewayKeyId: asString(row.gateway_key_id, 'gateway_key_id'),
    inputFileId: asString(row.input_file_id, 'input_file_id'),
    endpoint: asString(row.endpoint, 'endpoint'),
    completionWindow: asString(row.completion_window, 'completion_window'),
    windowMs: asNumber(row.window_ms, 'window_ms'),
    mode: asString(row.mode, 'mode') as BatchRow['mode'],
    skipInvalidLines: row.skip_invalid_lines === true,
    status: asString(row.status, 'status') as BatchStatus,
    paused: row.paused === true,
    metadata: json(row.metadata),
    errors: json(row.errors),
    outputFileId: asNullableString(row.output_file_id, 'output_file_id'),
    errorFileId: asNullableString(row.error_file_id, 'error_file_id'),
    upstreamBatchId: asNullableString(row.upstream_batch_id, 'upstream_batch_id'),
    total: asNumber(row.total, 'total'),
    createdAt: asDate(row.created_at, 'created_at'),
    inProgressAt: asNullableDate(row.in_progress_at, 'in_progress_at'),
    finalizingAt: asNullableDate(row.finalizing_at, 'finalizing_at'),
    completedAt: asNullableDate(row.completed_at, 'completed_at'),
    failedAt: asNullableDate(row.failed_at, 'failed_at'),
    expiresAt: asDate(row.expires_at, 'expires_at'),
    expiredAt: asNullableDate(row.expired_at, 'expired_at'),
    cancellingAt: asNullableDate(row.cancelling_at, 'cancelling_at'),
    cancelledAt: asNullableDate(row.cancelled_at, 'cancelled_at'),
  };
}

const FILE_COLUMNS = 'id, kind, purpose, filename, team, gateway_key_id, batch_id, bytes, created_at';

/** The timestamp column each status sets when a batch enters it. */
const STATUS_STAMP: Partial<Record<BatchStatus, string>> = {
  in_progress: 'in_progress_at',
  finalizing: 'finalizing_at',
  completed: 'completed_at',
  failed: 'failed_at',
  expired: 'expired_at',
  cancelling: 'cancelling_at',
  cancelled: 'cancelled_at',
};

/** How far validation got: the state after its last stored page (lines before `nextLine`). */
export interface ValidationProgress {
  nextLine: number;
  total: number;
  errors: { code: string; line: number; message: string; param: string | null }[];
  /** custom_ids claimed by bad lines */
  badIds: Set<string>;
  models: Set<string>;
  worstNanos: bigint;
}

export interface NewInputFile {
  id: string;
  filename: string;
  purpose: string;
  team: string | null;
  gatewayKeyId: string;
}

export type NewBatch = Pick<
  BatchRow,
  | 'id'
  | 'team'
  | 'gatewayKeyId'
  | 'inputFileId'
  | 'endpoint'
  | 'completionWindow'
  | 'windowMs'
  | 'mode'
  | 'skipInvalidLines'
  | 'metadata'
> & { now: Date };

export function toItem(row: SqlRow): BatchItem {
  return {
    seq: asNumber(row.seq, 'seq'),
    line: asNumber(row.line, 'line'),
    customId: asString(row.custom_id, 'custom_id'),
    body: json<Record<string, unknown>>(row.body) ?? {},
    state: asString(row.state, 'state') as BatchItemState,
    attempts: asNumber(row.attempts, 'attempts'),
    costNanos: asBigint(row.cost_nanos, 'cost_nanos'),
  };
}

export class BatchStore {
  constructor(private readonly db: SqlSession) {}

  /** A writer for the chunks of a new input file; `commitInputFile` makes the file visible. */
  openInputFile(id: string): FileChunkWriter {
    return new FileChunkWriter(this.db, id);
  }

  /** Writes an input file's row once all its chunks are written: from now on the file exists. */
  async commitInputFile(input: NewInputFile & { bytes: number }): Promise<BatchFile> {
    const { rows } = await this.db.query(
      `INSERT INTO batch_files (id, kind, purpose, filename, team, gateway_key_id, bytes)
       VALUES ($1, 'input', $2, $3, $4, $5, $6) RETURNING ${FILE_COLUMNS}`,
      [input.id, input.purpose, input.filename, input.team, input.gatewayKeyId, input.bytes],
    );
    return toFile(rows[0]!);
  }

  /** An input file from text already in memory (tests, tools): chunked like an upload. */
  async createInputFile(input: NewInputFile & { content: string }): Promise<BatchFile> {
    const writer = this.openInputFile(input.id);
    let start = 0;
    while (start < input.content.length) {
      let end = Math.min(start + CHUNK_CHARS, input.content.length);
      // never cut a surrogate pair in two
      const code = input.content.charCodeAt(end - 1);
      if (end < input.content.length && code >= 0xd800 && code <= 0xdbff) end++;
      await writer.append(input.content.slice(start, end));
      start = end;
    }
    await writer.flush();
    return this.commitInputFile({ ...input, bytes: Buffer.byteLength(input.content) });
  }

  /** An input file's text, chunk after chunk (a few chunks per statement). */
  inputChunks(id: string): AsyncGenerator<string> {
    return fileChunks(this.db, id);
  }

  async getFile(id: string): Promise<BatchFile | null> {
    const { rows } = await this.db.query(`SELECT ${FILE_COLUMNS} FROM batch_files WHERE id = $1`, [id]);
    return rows[0] ? toFile(rows[0]) : null;
  }

  async createBatch(batch: NewBatch): Promise<BatchRow> {
    const { rows } = await this.db.query(
      `INSERT INTO batches (id, team, gateway_key_id, input_file_id, endpoint, completion_window, window_ms, mode,
                            skip_invalid_lines, status, metadata, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'validating', $10::jsonb, $11, $12) RETURNING *`,
      [
        batch.id,
        batch.team,
        batch.gatewayKeyId,
        batch.inputFileId,
        batch.endpoint,
        batch.completionWindow,
        batch.windowMs,
        batch.mode,
        batch.skipInvalidLines,
        toJsonText(batch.metadata),
        batch.now,
        new Date(batch.now.getTime() + batch.windowMs),
      ],
    );
    return toBatch(rows[0]!);
  }

  async getBatch(id: string): Promise<BatchRow | null> {
    const { rows } = await this.db.query(`SELECT * FROM batches WHERE id = $1`, [id]);
    return rows[0] ? toBatch(rows[0]) : null;
  }

  /** Newest first; `team` null lists every team's. */
  async listBatches(filter: { team: string | null; gatewayKeyId?: string; after?: string; limit: number }) {
    const params: unknown[] = [filter.limit];
    const where: string[] = [];
    if (filter.team !== null) {
      params.push(filter.team);
      where.push(`team = $${params.length}`);
    }
    if (filter.gatewayKeyId !== undefined) {
      params.push(filter.gatewayKeyId);
      where.push(`gateway_key_id = $${params.length}`);
    }
    if (filter.after !== undefined) {
      params.push(filter.after);
      where.push(`created_at < (SELECT created_at FROM batches WHERE id = $${params.length})`);
    }
    const { rows } = await this.db.query(
      `SELECT * FROM batches ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT $1`,
      params,
    );
    return rows.map(toBatch);
  }

  /** Moves a batch to `status` (stamping its time once); a final status is never left. */
  async setStatus(id: string, status: BatchStatus, now: Date, extra: { errors?: unknown[] } = {}) {
    const stamp = STATUS_STAMP[status];
    const finals = FINAL_BATCH_STATUSES.map((s) => `'${s}'`).join(', ');
    const { rows } = await this.db.query(
      `UPDATE batches SET status = $2${stamp ? `, ${stamp} = COALESCE(${stamp}, $3)` : ''}
              ${extra.errors !== undefined ? ', errors = $4::jsonb' : ''}
        WHERE id = $1 AND status NOT IN (${finals}) RETURNING *`,
      extra.errors !== undefined ? [id, status, now, toJsonText(extra.errors)] : [id, status, now],
    );
    return rows[0] ? toBatch(rows[0]) : await this.getBatch(id);
  }

  async setPaused(id: string, paused: boolean): Promise<void> {
    await this.db.query(`UPDATE batches SET paused = $2 WHERE id = $1`, [id, paused]);
  }

  async setUpstreamBatch(id: string, upstreamBatchId: string): Promise<void> {
    await this.db.query(`UPDATE batches SET upstream_batch_id = $2 WHERE id = $1`, [id, upstreamBatchId]);
  }

  /**
   * The custom_ids of `customIds` that an item numbered below `beforeSeq` already has (items of the pages
   * validated before; a page stored by an earlier attempt of the same validation is not counted).
   */
  async takenCustomIds(
    batchId: string,
    customIds: readonly string[],
    beforeSeq: number,
  ): Promise<Set<string>> {
    if (customIds.length === 0) return new Set();
    const { rows } = await this.db.query(
      `SELECT custom_id FROM batch_items WHERE batch_id = $1 AND custom_id = ANY($2::text[]) AND seq < $3`,
      [batchId, customIds, beforeSeq],
    );
    return new Set(rows.map((row) => asString(row.custom_id, 'custom_id')));
  }

  /**
   * Stores a page of validated lines as pending items numbered from `firstSeq`, together with
   * validation's progress after the page, in one statement. Item numbers follow from the file, so a
   * repeated page (a retried or resumed validation) adds nothing, and progress only moves forward.
   */
  async storeItemPage(
    batchId: string,
    firstSeq: number,
    items: readonly { line: number; customId: string; body: unknown }[],
    progress: ValidationProgress,
  ): Promise<void> {
    await this.db.query(
      `WITH page AS (
         INSERT INTO batch_items (batch_id, line, seq, custom_id, body)
         SELECT $1, t.line, t.seq, t.custom_id, t.body::jsonb
           FROM unnest($2::int[], $3::int[], $4::text[], $5::text[]) AS t(line, seq, custom_id, body)
         ON CONFLICT DO NOTHING)
       INSERT INTO batch_validation (batch_id, next_line, total, errors, bad_ids, models, worst_nanos)
       VALUES ($1, $6, $7, $8::jsonb, $9::text[], $10::text[], $11)
       ON CONFLICT (batch_id) DO UPDATE
         SET next_line = EXCLUDED.next_line, total = EXCLUDED.total, errors = EXCLUDED.errors,
             bad_ids = EXCLUDED.bad_ids, models = EXCLUDED.models, worst_nanos = EXCLUDED.worst_nanos
       WHERE batch_validation.next_line < EXCLUDED.next_line`,
      [
        batchId,
        items.map((item) => item.line),
        items.map((_, n) => firstSeq + n),
        items.map((item) => item.customId),
        items.map((item) => toJsonText(item.body)),
        progress.nextLine,
        progress.total,
        toJsonText(progress.errors),
        [...progress.badIds],
        [...progress.models],
        progress.worstNanos,
      ],
    );
  }

  /** Where an earlier attempt of validation got to (null: none stored a page). */
  async validationProgress(batchId: string): Promise<ValidationProgress | null> {
    const { rows } = await this.db.query(`SELECT * FROM batch_validation WHERE batch_id = $1`, [batchId]);
    const row = rows[0];
    if (!row) return null;
    return {
      nextLine: asNumber(row.next_line, 'next_line'),
      total: asNumber(row.total, 'total'),
      errors: json<ValidationProgress['errors']>(row.errors) ?? [],
      badIds: new Set(row.bad_ids as string[]),
      models: new Set(row.models as string[]),
      worstNanos: asBigint(row.worst_nanos, 'worst_nanos'),
    };
  }

  /** Deletes the items of a batch that never passed validation (it starts over, or refused the batch). */
  async clearItems(batchId: string): Promise<void> {
    await this.endValidation(batchId);
    await this.db.query(
      `DELETE FROM batch_items WHERE batch_id = $1
          AND EXISTS (SELECT 1 FROM batches WHERE id = $1 AND in_progress_at IS NULL)`,
      [batchId],
    );
  }

  /** Forgets validation's progress (it has ended). */
  async endValidation(batchId: string): Promise<void> {
    await this.db.query(`DELETE FROM batch_validation WHERE batch_id = $1`, [batchId]);
  }

  /**
   * Refreshes the planner's statistics of `batch_items` after a large batch was stored: until autovacuum
   * gets to it, the planner takes the new batch for a handful of rows and reads its pending items by a
   * bitmap scan and a sort of the whole batch (380 ms a page at a million items) instead of in the
   * primary key's order (under 1 ms). Only a warning where the ledger's user does not own the table.
   */
  async analyzeItems(): Promise<void> {
    await this.db.query(`ANALYZE batch_items`);
  }

  /** Records what validation stored: the number of items and the skipped lines' problems. */
  async setValidated(batchId: string, total: number, errors: unknown[] | null): Promise<void> {
    await this.db.query(`UPDATE batches SET total = $2, errors = $3::jsonb WHERE id = $1`, [
      batchId,
      total,
      toJsonText(errors),
    ]);
  }

  /** The items with these custom_ids: number and model of each (a page of an upstream result file). */
  async itemsByCustomId(
    batchId: string,
    customIds: readonly string[],
  ): Promise<Map<string, { seq: number; model: string }>> {
    if (customIds.length === 0) return new Map();
    const { rows } = await this.db.query(
      `SELECT seq, custom_id, body->>'model' AS model FROM batch_items
        WHERE batch_id = $1 AND custom_id = ANY($2::text[])`,
      [batchId, customIds],
    );
    return new Map(
      rows.map((row) => [
        asString(row.custom_id, 'custom_id'),
        { seq: asNumber(row.seq, 'seq'), model: String(row.model) },
      ]),
    );
  }

  async getItem(batchId: string, seq: number): Promise<BatchItem | null> {
    const { rows } = await this.db.query(
      `SELECT seq, line, custom_id, body, state, attempts, cost_nanos FROM batch_items WHERE batch_id = $1 AND seq = $2`,
      [batchId, seq],
    );
    return rows[0] ? toItem(rows[0]) : null;
  }

  /**
   * An item as `getItem` reads it, in one statement with `nextAttempt` when the item is pending and has
   * no attempt yet: then its first attempt is counted (`attempts` 1) and `started` is true.
   */
  async openItem(batchId: string, seq: number): Promise<(BatchItem & { started: boolean }) | null> {
    const { rows } = await this.db.query(
      `WITH started AS (
         UPDATE batch_items SET attempts = 1
          WHERE batch_id = $1 AND seq = $2 AND state = 'pending' AND attempts = 0
         RETURNING seq, line, custom_id, body, state, attempts, cost_nanos, true AS started)
       SELECT * FROM started
       UNION ALL
       SELECT seq, line, custom_id, body, state, attempts, cost_nanos, false FROM batch_items
        WHERE batch_id = $1 AND seq = $2 AND NOT EXISTS (SELECT 1 FROM started)`,
      [batchId, seq],
    );
    const row = rows[0];
    return row ? { ...toItem(row), started: row.started === true } : null;
  }

  /** Counts one more attempt of a pending item and returns its number (null: the item is finished). */
  async nextAttempt(batchId: string, seq: number): Promise<number | null> {
    const { rows } = await this.db.query(
      `UPDATE batch_items SET attempts = attempts + 1 WHERE batch_id = $1 AND seq = $2 AND state = 'pending'
       RETURNING attempts`,
      [batchId, seq],
    );
    return rows[0] ? asNumber(rows[0].attempts, 'attempts') : null;
  }

  /** Records an item's result once; false when it was already finished. */
  async finishItem(batchId: string, seq: number, outcome: ItemOutcome, now: Date): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE batch_items SET state = $3, status_code = $4, upstream_request_id = $5, response = $6::jsonb,
              error = $7::jsonb, cost_nanos = $8, finished_at = $9
        WHERE batch_id = $1 AND seq = $2 AND state = 'pending'`,
      [
        batchId,
        seq,
        outcome.state,
        outcome.statusCode,
        outcome.upstreamRequestId,
        toJsonText(outcome.response),
        toJsonText(outcome.error),
        outcome.costNanos,
        now,
      ],
    );
    return rowCount > 0;
  }

  /** Ends every item still pending (cancel, expiry) without running it. */
  async endPending(batchId: string, state: 'cancelled' | 'expired', now: Date): Promise<number> {
    const message = state === 'cancelled' ? 'The batch was cancelled.' : 'The batch expired.';
    const { rowCount } = await this.db.query(
      `UPDATE batch_items SET state = $2, error = $3::jsonb, finished_at = $4
        WHERE batch_id = $1 AND state = 'pending'`,
      [batchId, state, toJsonText({ code: `batch_${state}`, message }), now],
    );
    return rowCount;
  }

  async counts(batchId: string): Promise<BatchCounts> {
    const { rows } = await this.db.query(
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE state = 'succeeded') AS completed,
              count(*) FILTER (WHERE state IN ('failed', 'cancelled', 'expired')) AS failed,
              count(*) FILTER (WHERE state = 'pending') AS pending,
              COALESCE(sum(cost_nanos), 0) AS spend
         FROM batch_items WHERE batch_id = $1`,
      [batchId],
    );
    const row = rows[0]!;
    return {
      total: asNumber(row.total, 'total'),
      completed: asNumber(row.completed, 'completed'),
      failed: asNumber(row.failed, 'failed'),
      pending: asNumber(row.pending, 'pending'),
      spendNanos: asBigint(row.spend, 'spend'),
    };
  }

  /** Pending item numbers from `from` on, in order (a page of the sliding window's queue). */
  async pendingSeqs(batchId: string, from: number, limit: number): Promise<number[]> {
    const { rows } = await this.db.query(
      `SELECT seq FROM batch_items WHERE batch_id = $1 AND seq >= $2 AND state = 'pending' ORDER BY seq LIMIT $3`,
      [batchId, from, limit],
    );
    return rows.map((row) => asNumber(row.seq, 'seq'));
  }

  /** Creates the batch's output and error file rows (once) and links them. */
  async attachResultFiles(
    batchId: string,
    now: Date,
  ): Promise<{ outputFileId: string; errorFileId: string | null }> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `SELECT team, gateway_key_id, output_file_id, error_file_id, errors FROM batches WHERE id = $1 FOR UPDATE`,
        [batchId],
      );
      const batch = rows[0]!;
      const existing = asNullableString(batch.output_file_id, 'output_file_id');
      if (existing)
        return { outputFileId: existing, errorFileId: asNullableString(batch.error_file_id, 'e') };
      const suffix = batchId.replace(/^batch_/, '');
      const outputFileId = `file_out_${suffix}`;
      const failed = await tx.query(
        `SELECT count(*) AS n FROM batch_items WHERE batch_id = $1 AND state <> 'succeeded'`,
        [batchId],
      );
      const skipped = json<unknown[]>(batch.errors)?.length ?? 0;
      const errorFileId = asNumber(failed.rows[0]?.n, 'n') + skipped > 0 ? `file_err_${suffix}` : null;
      for (const [id, kind] of [
        [outputFileId, 'output'],
        [errorFileId, 'error'],
      ] as const) {
        if (!id) continue;
        await tx.query(
          `INSERT INTO batch_files (id, kind, purpose, filename, team, gateway_key_id, batch_id, created_at)
           VALUES ($1, $2, 'batch_output', $3, $4, $5, $6, $7)`,
          [id, kind, `${batchId}_${kind}.jsonl`, batch.team, batch.gateway_key_id, batchId, now],
        );
      }
      await tx.query(`UPDATE batches SET output_file_id = $2, error_file_id = $3 WHERE id = $1`, [
        batchId,
        outputFileId,
        errorFileId,
      ]);
      return { outputFileId, errorFileId };
    });
  }

  /**
   * The JSONL lines of a result file, in input order: the output file has one line per finished item
   * (success or error); the error file one per failed, cancelled or expired item and per skipped bad line.
   */
  async *resultLines(file: BatchFile, pageSize = 1000): AsyncGenerator<string> {
    const batchId = file.batchId!;
    const suffix = batchId.replace(/^batch_/, '');
    const filter = file.kind === 'output' ? `state IN ('succeeded', 'failed')` : `state <> 'succeeded'`;
    let after = -1;
    for (;;) {
      const { rows } = await this.db.query(
        `SELECT seq, custom_id, status_code, upstream_request_id, response, error FROM batch_items
          WHERE batch_id = $1 AND seq > $2 AND ${filter} ORDER BY seq LIMIT $3`,
        [batchId, after, pageSize],
      );
      for (const row of rows) {
        const seq = asNumber(row.seq, 'seq');
        const status = row.status_code === null ? null : asNumber(row.status_code, 'status_code');
        const body = json<Record<string, unknown>>(row.response);
        yield JSON.stringify({
          id: `batch_req_out_${suffix}_${seq}`,
          custom_id: asString(row.custom_id, 'custom_id'),
          response:
            status === null
              ? null
              : {
                  status_code: status,
                  request_id: asNullableString(row.upstream_request_id, 'r') ?? '',
                  body,
                },
          error: json(row.error),
        });
        after = seq;
      }
      if (rows.length < pageSize) break;
    }
    if (file.kind === 'error') {
      const { rows } = await this.db.query(`SELECT errors FROM batches WHERE id = $1`, [batchId]);
      const skipped = json<{ line: number; code: string; message: string; custom_id?: string }[]>(
        rows[0]?.errors,
      );
      for (const problem of skipped ?? []) {
        yield JSON.stringify({
          id: `batch_req_out_${suffix}_line_${problem.line}`,
          custom_id: problem.custom_id ?? null,
          response: null,
          error: { code: problem.code, message: `line ${problem.line}: ${problem.message}` },
        });
      }
    }
  }
}

/** Every item of a batch with its custom_id, in input order, a page at a time. */
export async function* batchItems(
  db: SqlSession,
  batchId: string,
  pageSize = 1000,
): AsyncGenerator<{ seq: number; customId: string; state: BatchItemState; body: Record<string, unknown> }> {
  let after = -1;
  for (;;) {
    const { rows } = await db.query(
      `SELECT seq, custom_id, state, body FROM batch_items WHERE batch_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [batchId, after, pageSize],
    );
    for (const row of rows) {
      after = asNumber(row.seq, 'seq');
      yield {
        seq: after,
        customId: asString(row.custom_id, 'custom_id'),
        state: asString(row.state, 'state') as BatchItemState,
        body: json<Record<string, unknown>>(row.body) ?? {},
      };
    }
    if (rows.length < pageSize) return;
  }
}
