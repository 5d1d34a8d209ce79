/** Helpers of the batch tests: JSONL files, polling a batch through groq-sdk, reading result files. */
import type Groq from 'groq-sdk';
import { toFile } from 'groq-sdk';

export const BATCH_MODEL = 'llama-3.1-8b-instant';

export interface LineOptions {
  model?: string;
  maxTokens?: number;
  /** completion tokens the emulator should generate */
  completionTokens?: number;
}

export function batchLine(customId: string, text: string, options: LineOptions = {}): string {
  const directive = options.completionTokens
    ? ` [[emulator:completion_tokens=${options.completionTokens}]]`
    : '';
  return JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: {
      model: options.model ?? BATCH_MODEL,
      messages: [{ role: 'user', content: `${text}${directive}` }],
      max_completion_tokens: options.maxTokens ?? 16,
    },
  });
}

export function jsonl(count: number, prefix = 'item', options: LineOptions = {}): string {
  return Array.from({ length: count }, (_, n) =>
    batchLine(`${prefix}-${n}`, `${prefix} line ${n}`, options),
  ).join('\n');
}

export async function upload(groq: Groq, content: string, name = 'batch.jsonl') {
  return groq.files.create({ file: await toFile(Buffer.from(content), name), purpose: 'batch' });
}

const FINAL = new Set(['completed', 'failed', 'cancelled', 'expired']);

/** Polls `batches.retrieve` until the batch reaches a final status (with a generous deadline). */
export async function waitForBatch(groq: Groq, id: string, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await groq.batches.retrieve(id);
    if (FINAL.has(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status}: ${JSON.stringify(batch)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface OutputLine {
  id: string;
  custom_id: string | null;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

export async function fileLines(groq: Groq, fileId: string): Promise<OutputLine[]> {
  const response = await groq.files.content(fileId);
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as OutputLine);
}
