/**
 * Mode `groq-batch`: the validated lines go to Groq's Batch API. One reservation holds the whole batch's
 * worst case at the batch price; the workflow polls the upstream batch durably (timers between polls);
 * at a final status the output and error files are downloaded, every line's usage is booked at the batch
 * price (list price less `pricing.batchDiscountPercent`) and the reservation settles at the exact total.
 */
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCH_ENDPOINT, DAY_MS } from '../../domain/batch-lines';
import type { ChatRequest } from '../../domain/chat-request';
import { costOf, worstCaseCost } from '../../domain/pricing';
import { promptTokenBound } from '../../domain/prompt-tokens';
import { formatUsd } from '../../domain/money';
import { periodOf } from '../../ledger';
import { batchItems, BatchStore, type BatchRow } from '../../ledger/batches';
import { textLines } from '../../domain/line-splitter';
import type { TeamConfig } from '../../domain/config/types';
import type { CompletionDeps } from '../completion/deps';
import { batchRequestId } from './run-item';

export interface GroqBatchInput {
  batchId: string;
  team: string;
  upstreamKey: string;
}

export type SubmitResult =
  { ok: true; upstreamBatchId: string } | { ok: false; code: string; message: string };

export interface UpstreamProgress {
  status: string;
  total: number;
  completed: number;
  failed: number;
}

const UPSTREAM = 'groq-batch';

export function groqBatchReservationId(batchId: string): string {
  return `${batchRequestId(batchId, UPSTREAM)}#1`;
}

function maxTokensOf(body: Record<string, unknown>, cap: number): number {
  const request = body as ChatRequest;
  return request.max_completion_tokens ?? request.max_tokens ?? cap;
}

export async function submitGroqBatch(deps: CompletionDeps, input: GroqBatchInput): Promise<SubmitResult> {
  const store = new BatchStore(deps.ledger.sql);
  const batch = await store.getBatch(input.batchId);
  if (!batch) throw new Error(`batch ${input.batchId} does not exist`);
  if (batch.upstreamBatchId) return { ok: true, upstreamBatchId: batch.upstreamBatchId };
  const config = deps.config();
  const team = config.teams.get(input.team);
  if (!team) throw new Error(`team ${input.team} vanished from the configuration`);

  // the lines go to a file on disk as they are read (a page of items at a time), never into memory whole
  const dir = await mkdtemp(join(tmpdir(), 'governor-groq-batch-'));
  try {
    const path = join(dir, `${batch.id}.jsonl`);
    const out = createWriteStream(path);
    let worst = 0n;
    let first = true;
    for await (const item of batchItems(deps.ledger.sql, batch.id)) {
      if (item.state !== 'pending') continue;
      const request = item.body as ChatRequest;
      const maxTokens = maxTokensOf(item.body, team.maxTokensPerRequest);
      worst += worstCaseCost(
        config.pricing,
        request.model,
        promptTokenBound(request.messages, request.tools),
        maxTokens,
        { batch: true },
      );
      const body: Record<string, unknown> = { ...item.body, max_completion_tokens: maxTokens };
      delete body.max_tokens;
      const line = JSON.stringify({ custom_id: item.customId, method: 'POST', url: BATCH_ENDPOINT, body });
      if (!out.write(first ? line : `\n${line}`)) await once(out, 'drain');
      first = false;
    }
    out.end();
    await once(out, 'finish');
    return await submitFile(deps, input, { batch, team, worst, path });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reserves the worst case, then uploads the file at `path` (read from disk as it is sent) and creates the batch. */
async function submitFile(
  deps: CompletionDeps,
  input: GroqBatchInput,
  { batch, team, worst, path }: { batch: BatchRow; team: TeamConfig; worst: bigint; path: string },
): Promise<SubmitResult> {
  const store = new BatchStore(deps.ledger.sql);
  const config = deps.config();
  const reservationId = groqBatchReservationId(batch.id);
  const period = periodOf(new Date(deps.now()), config.org.timezone);
  const reserved = await deps.ledger.reserve({
    reservationId,
    requestId: batchRequestId(batch.id, UPSTREAM),
    team: team.name,
    period,
    amount: worst,
    teamLimit: team.monthlyBudgetNanos,
    orgLimit: config.org.monthlyCapNanos,
  });
  if (!reserved.ok) {
    const message = `This batch may cost up to $${formatUsd(worst)}, more than the $${formatUsd(reserved.remaining)} left in the budget for ${period}.`;
    await store.setStatus(batch.id, 'failed', new Date(deps.now()), {
      errors: [{ code: 'budget_exceeded', line: null, message, param: null }],
    });
    return { ok: false, code: 'budget_exceeded', message };
  }
  const { client } = await deps.groq.clientFor(input.upstreamKey);
  const claim = await deps.ledger.claimCall(reservationId, deps.identity);
  if (!claim.claimed) {
    // an earlier run got this far: find the upstream batch it may have created
    const page = await client.batches.list();
    const found = page.data.find(
      (upstream) => (upstream.metadata as Record<string, unknown> | null)?.governor_batch_id === batch.id,
    );
    if (found) {
      await store.setUpstreamBatch(batch.id, found.id);
      return { ok: true, upstreamBatchId: found.id };
    }
  }
  const file = await client.files.create({
    file: new File([await openAsBlob(path)], `${batch.id}.jsonl`),
    purpose: 'batch',
  });
  const upstream = await client.batches.create({
    input_file_id: file.id!,
    endpoint: BATCH_ENDPOINT,
    completion_window: batch.windowMs >= DAY_MS ? batch.completionWindow : '24h',
    metadata: { governor_batch_id: batch.id },
  });
  await store.setUpstreamBatch(batch.id, upstream.id);
  return { ok: true, upstreamBatchId: upstream.id };
}

export async function pollGroqBatch(
  deps: CompletionDeps,
  input: GroqBatchInput & { upstreamBatchId: string },
): Promise<UpstreamProgress> {
  const { client } = await deps.groq.clientFor(input.upstreamKey);
  const upstream = await client.batches.retrieve(input.upstreamBatchId);
  return {
    status: upstream.status,
    total: upstream.request_counts?.total ?? 0,
    completed: upstream.request_counts?.completed ?? 0,
    failed: upstream.request_counts?.failed ?? 0,
  };
}

export async function cancelGroqBatch(
  deps: CompletionDeps,
  input: GroqBatchInput & { upstreamBatchId: string },
): Promise<void> {
  const { client } = await deps.groq.clientFor(input.upstreamKey);
  try {
    await client.batches.cancel(input.upstreamBatchId);
  } catch (error) {
    // already final upstream: the next poll sees it
    deps.log.warn('cancelling the upstream batch failed', { batchId: input.batchId, error: String(error) });
  }
}

interface OutputLine {
  custom_id?: string;
  response?: { status_code?: number; request_id?: string; body?: Record<string, unknown> } | null;
  error?: { code?: string; message?: string } | null;
}

/** Lines of an upstream result file read per page (one ledger statement looks up a page's items). */
const COLLECT_PAGE_LINES = 500;

/** The non-blank lines of a downloaded file, `size` at a time, as they arrive. */
async function* linePages(response: Response, size: number): AsyncGenerator<string[]> {
  let page: string[] = [];
  const body = (response.body ?? []) as AsyncIterable<Uint8Array>;
  for await (const line of textLines(body)) {
    if (line.trim() === '') continue;
    page.push(line);
    if (page.length >= size) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/** Downloads the upstream result files, stores every line's result and books its usage at the batch price. */
export async function collectGroqBatch(
  deps: CompletionDeps,
  input: GroqBatchInput & { upstreamBatchId: string },
): Promise<{ costNanos: string }> {
  const store = new BatchStore(deps.ledger.sql);
  const config = deps.config();
  const { client, version } = await deps.groq.clientFor(input.upstreamKey);
  const upstream = await client.batches.retrieve(input.upstreamBatchId);
  const reservationId = groqBatchReservationId(input.batchId);
  const reservation = await deps.ledger.getReservation(reservationId);
  const period = reservation?.period ?? periodOf(new Date(deps.now()), config.org.timezone);

  let total = 0n;
  for (const fileId of [upstream.output_file_id, upstream.error_file_id]) {
    if (!fileId) continue;
    const content = await client.files.content(fileId);
    // a page of lines at a time: their items are read in one statement, the file is never held whole
    for await (const page of linePages(content, COLLECT_PAGE_LINES)) {
      const lines = page.map((raw) => JSON.parse(raw) as OutputLine);
      const items = await store.itemsByCustomId(
        input.batchId,
        lines.flatMap((line) => (line.custom_id !== undefined ? [line.custom_id] : [])),
      );
      for (const line of lines) {
        const item = line.custom_id !== undefined ? items.get(line.custom_id) : undefined;
        if (!item || line.custom_id === undefined) continue;
        const status = line.response?.status_code ?? null;
        const body = line.response?.body ?? null;
        const now = new Date(deps.now());
        if (status === 200 && body) {
          const usage = body.usage as
            | {
                prompt_tokens?: number;
                completion_tokens?: number;
                prompt_tokens_details?: { cached_tokens?: number };
              }
            | undefined;
          const tokens = {
            promptTokens: usage?.prompt_tokens ?? 0,
            completionTokens: usage?.completion_tokens ?? 0,
            cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
          };
          const cost = costOf(config.pricing, item.model, tokens, { batch: true });
          total += cost;
          await deps.ledger.recordUsage({
            requestId: batchRequestId(input.batchId, line.custom_id),
            attempt: 1,
            period,
            team: input.team,
            model: item.model,
            keyName: input.upstreamKey,
            keyVersion: version,
            reservationId,
            promptTokens: tokens.promptTokens,
            completionTokens: tokens.completionTokens,
            cachedTokens: tokens.cachedTokens,
            costNanos: cost,
            batch: true,
            upstreamRequestId: line.response?.request_id ?? null,
            httpStatus: 200,
            outcome: 'success',
            startedAt: now,
            finishedAt: now,
          });
          await store.finishItem(
            input.batchId,
            item.seq,
            {
              state: 'succeeded',
              statusCode: 200,
              upstreamRequestId: line.response?.request_id ?? null,
              response: body,
              error: null,
              costNanos: cost,
            },
            now,
          );
        } else {
          await store.finishItem(
            input.batchId,
            item.seq,
            {
              state: 'failed',
              statusCode: status,
              upstreamRequestId: line.response?.request_id ?? null,
              response: body,
              error:
                status === null
                  ? {
                      code: line.error?.code ?? 'upstream_error',
                      message: line.error?.message ?? 'The line failed.',
                    }
                  : null,
              costNanos: 0n,
            },
            now,
          );
        }
      }
    }
  }
  if (reservation && (reservation.state === 'held' || reservation.state === 'unknown')) {
    await deps.ledger.settle(reservationId, total);
  }
  return { costNanos: total.toString() };
}
