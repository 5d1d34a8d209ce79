/**
 * Realtime batches in fault scenarios, through the gateway with the official `groq-sdk`: submit one
 * (files.create + batches.create), follow its progress in the ledger, and once it has ended read its
 * output file as one answer per line, so the fault audit treats every line like a request: a line in the
 * output with status 200 is completed (it must have exactly one success row, `batch:<id>:<custom_id>`),
 * a line missing from the output is lost, a custom_id twice in the output is reported as a duplicate.
 */
import Groq from 'groq-sdk';
import { fileLines, jsonl, upload, waitForBatch } from '../integration/batches/support';
import type { SentRequest } from './fault-load';

interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface SubmittedBatch {
  groq: Groq;
  id: string;
  prefix: string;
  lines: number;
  submittedAt: number;
}

/** uploads `lines` lines with custom ids `<prefix>-<n>` and starts a realtime batch over them */
export async function submitBatch(
  gatewayUrl: string,
  apiKey: string,
  prefix: string,
  lines: number,
): Promise<SubmittedBatch> {
  const groq = new Groq({ baseURL: gatewayUrl, apiKey, maxRetries: 2 });
  const submittedAt = Date.now();
  const file = await upload(groq, jsonl(lines, prefix, { maxTokens: 32, completionTokens: 8 }));
  const batch = await groq.batches.create({
    input_file_id: file.id!,
    endpoint: '/v1/chat/completions',
    completion_window: '2h',
  });
  return { groq, id: batch.id, prefix, lines, submittedAt };
}

/** items of the batch that have finished (succeeded or failed), from the ledger */
export async function itemsDone(sql: Queryable, batchId: string): Promise<number> {
  const { rows } = await sql.query(
    `SELECT COUNT(*) AS n FROM batch_items WHERE batch_id = $1 AND state <> 'pending'`,
    [batchId],
  );
  return Number(rows[0]?.n);
}

export interface BatchAnswers {
  done: Awaited<ReturnType<typeof waitForBatch>>;
  /** one per input line, in line order */
  sent: SentRequest[];
  /** custom ids found more than once in the output and error files */
  duplicates: string[];
}

/** waits for the batch to end and reads its output and error files as one answer per line */
export async function batchAnswers(batch: SubmittedBatch, timeoutMs: number): Promise<BatchAnswers> {
  const done = await waitForBatch(batch.groq, batch.id, timeoutMs);
  const answeredAt = Date.now();
  const results = [
    ...(done.output_file_id ? await fileLines(batch.groq, done.output_file_id) : []),
    ...(done.error_file_id ? await fileLines(batch.groq, done.error_file_id) : []),
  ];
  const byId = new Map<string, typeof results>();
  for (const line of results)
    byId.set(String(line.custom_id), [...(byId.get(String(line.custom_id)) ?? []), line]);
  const duplicates = [...byId].filter(([, lines]) => lines.length > 1).map(([id]) => id);
  const sent = Array.from({ length: batch.lines }, (_, n): SentRequest => {
    const customId = `${batch.prefix}-${n}`;
    const line = byId.get(customId)?.[0];
    return {
      label: customId,
      stream: false,
      sentAt: batch.submittedAt,
      answeredAt: line ? answeredAt : null,
      requestId: line ? `batch:${batch.id}:${customId}` : null,
      status: line ? (line.response?.status_code ?? null) : null,
      ...(line?.error ? { error: `${line.error.code}: ${line.error.message}` } : {}),
    };
  });
  return { done, sent, duplicates };
}
