/**
 * Groq's Files and Batch API on the gateway, for the unchanged `groq-sdk`:
 *
 *   POST /openai/v1/files                 multipart (file, purpose=batch)   -> file object
 *   GET  /openai/v1/files/{id}            file object
 *   GET  /openai/v1/files/{id}/content    the JSONL (input, or a batch's output / error file)
 *   POST /openai/v1/batches               {input_file_id, endpoint, completion_window, metadata?,
 *                                          mode?: auto|realtime|groq-batch, skip_invalid_lines?}
 *   GET  /openai/v1/batches[?limit&after] GET /openai/v1/batches/{id}   POST /openai/v1/batches/{id}/cancel
 *   POST /admin/batches/{id}/pause | /resume   (org-admin, or team-admin of the batch's team; routed by admin.ts)
 *
 * Files live in the ledger; every batch is a `batchJob` workflow (id `batch-<batch id>`), started here
 * with the batch id only. While it runs, `request_counts` and the spend come from its `progress` query.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WorkflowNotFoundError } from '@temporalio/client';
import { BATCH_ENDPOINT, chooseMode, parseCompletionWindow } from '../../domain/batch-lines';
import type { Refusal } from '../../domain/api-errors';
import { batchCreateSchema, check } from '../../domain/admin-requests';
import { authorize, mayEver, type Principal } from '../../domain/rbac';
import { boundaryOf, MultipartError } from '../../emulator/multipart';
import { BatchStore, FINAL_BATCH_STATUSES, type BatchFile, type BatchRow } from '../../ledger/batches';
import {
  batchWorkflowId,
  cancelBatchSignal,
  pauseBatchSignal,
  progressQuery,
} from '../../workflows/batch-job-messages';
import type { BatchJobInput } from '../../workflows/batch-job';
import { batchObject, fileObject, type LiveCounts } from './batch-objects';
import { receiveUpload, type ReceivedUpload } from './batch-upload';
import { BodyTooLargeError, bodyPieces, decodeSegment, sendJson, sendRefusal } from './http';
import { readJsonObject, refuseBody } from './json-body';
import type { GatewayDeps, RequestContext } from './deps';

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(13).toString('hex')}`;
}

function invalid(response: ServerResponse, headers: Record<string, string>, message: string, param?: string) {
  sendRefusal(response, { code: 'invalid_request_error', message, ...(param ? { param } : {}) }, headers);
}

function notFound(response: ServerResponse, headers: Record<string, string>, what: string) {
  sendRefusal(response, { code: 'not_found', message: `No such ${what}.` }, headers);
}

export function mayRead(
  principal: Principal,
  owner: { team: string | null; gatewayKeyId: string | null },
): boolean {
  return authorize(principal, 'batches.read', {
    team: owner.team,
    ...(owner.gatewayKeyId ? { ownerKeyId: owner.gatewayKeyId } : {}),
  }).allowed;
}

export async function liveCounts(deps: GatewayDeps, store: BatchStore, batch: BatchRow): Promise<LiveCounts> {
  if (!FINAL_BATCH_STATUSES.includes(batch.status)) {
    try {
      const progress = await deps.temporal.workflow.getHandle(batchWorkflowId(batch.id)).query(progressQuery);
      return {
        total: progress.total || batch.total,
        completed: progress.completed,
        failed: progress.failed,
        spendNanos: BigInt(progress.spendNanos),
        paused: progress.paused,
        ...(progress.status === 'cancelling' && batch.status === 'in_progress'
          ? { status: 'cancelling' }
          : {}),
      };
    } catch (error) {
      deps.log.warn('batch progress query failed; answering from the ledger', {
        batchId: batch.id,
        error: String(error),
      });
    }
  }
  const counts = await store.counts(batch.id);
  return {
    total: batch.total,
    completed: counts.completed,
    failed: counts.failed,
    spendNanos: counts.spendNanos,
  };
}

export async function handleFiles(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  context: RequestContext,
  rest: string,
): Promise<void> {
  const { principal, headers } = context;
  const method = request.method ?? 'GET';
  const store = new BatchStore(deps.ledger.sql);
  if (rest === '/files' && method === 'POST') {
    const decision = authorize(principal, 'batches.create');
    if (!decision.allowed)
      return sendRefusal(response, { code: 'permission_denied', message: decision.reason }, headers);
    const boundary = boundaryOf(request.headers['content-type']);
    if (!boundary) return invalid(response, headers, 'Upload the file as multipart/form-data.', 'file');
    const maxBytes = deps.config().gateway.maxBatchFileBytes;
    const fileId = newId('file');
    const writer = store.openInputFile(fileId);
    let upload: ReceivedUpload;
    try {
      upload = await receiveUpload(bodyPieces(request, maxBytes + 64 * 1024), boundary, writer);
    } catch (error) {
      await writer.discard();
      if (error instanceof BodyTooLargeError) {
        return sendRefusal(
          response,
          { code: 'request_too_large', message: `Files may have at most ${maxBytes} bytes.` },
          { ...headers, connection: 'close' },
        );
      }
      if (error instanceof MultipartError) return invalid(response, headers, error.message, 'file');
      throw error;
    }
    if (!upload.ok) {
      await writer.discard();
      return invalid(response, headers, upload.message, upload.param);
    }
    const created = await store.commitInputFile({
      id: fileId,
      filename: upload.filename,
      purpose: 'batch',
      team: principal.team,
      gatewayKeyId: principal.keyId,
      bytes: upload.bytes,
    });
    return sendJson(response, 200, fileObject(created), headers);
  }
  const match = /^\/files\/([^/]+)(\/content)?$/.exec(rest);
  if (!match || method !== 'GET') return notFound(response, headers, 'file route');
  const fileId = decodeSegment(match[1]!);
  if (fileId === undefined) return notFound(response, headers, 'file');
  const file = await store.getFile(fileId);
  if (!file || !mayRead(principal, file)) return notFound(response, headers, 'file');
  if (!match[2]) return sendJson(response, 200, fileObject(file), headers);
  return sendFileContent(store, file, response, headers);
}

async function* withNewlines(lines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const line of lines) yield line + '\n';
}

/** A file's content, streamed a page at a time (chunks of an input file, or items of a result file). */
async function sendFileContent(
  store: BatchStore,
  file: BatchFile,
  response: ServerResponse,
  headers: Record<string, string>,
): Promise<void> {
  response.writeHead(200, { 'content-type': 'application/octet-stream', ...headers });
  const pieces = file.kind === 'input' ? store.inputChunks(file.id) : withNewlines(store.resultLines(file));
  for await (const piece of pieces) {
    if (!response.write(piece)) await new Promise((resolve) => response.once('drain', resolve));
  }
  response.end();
}

export async function handleBatches(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  context: RequestContext,
  rest: string,
): Promise<void> {
  const { principal, headers } = context;
  const method = request.method ?? 'GET';
  const store = new BatchStore(deps.ledger.sql);
  const config = deps.config();

  if (rest === '/batches' && method === 'POST') {
    const decision = authorize(principal, 'batches.create');
    if (!decision.allowed || principal.team === null) {
      return sendRefusal(
        response,
        {
          code: 'permission_denied',
          message: decision.allowed ? 'Batches belong to a team.' : decision.reason,
        },
        headers,
      );
    }
    const read = await readJsonObject(request, config.gateway.maxBodyBytes);
    if (!read.ok) return refuseBody(response, read, headers);
    const checked = check(batchCreateSchema, read.value);
    if (!checked.ok) return invalid(response, headers, checked.message, checked.param);
    const body = checked.value;
    if (body.endpoint !== BATCH_ENDPOINT) {
      return invalid(response, headers, `endpoint must be "${BATCH_ENDPOINT}".`, 'endpoint');
    }
    const windowMs = parseCompletionWindow(body.completion_window);
    if (windowMs === null) {
      return invalid(
        response,
        headers,
        'completion_window must be a duration like "24h" or "7d" (at most 7d).',
        'completion_window',
      );
    }
    const metadata = body.metadata ?? null;
    const mode = chooseMode(body.mode ?? metadata?.mode, windowMs);
    if (mode === null)
      return invalid(response, headers, 'mode must be auto, realtime or groq-batch.', 'mode');
    const skip = body.skip_invalid_lines ?? metadata?.skip_invalid_lines;
    // the ledger is read only once the body is known to be well formed
    const file = await store.getFile(body.input_file_id);
    if (!file || file.kind !== 'input' || file.team !== principal.team) {
      return invalid(
        response,
        headers,
        'input_file_id does not name a batch file of your team.',
        'input_file_id',
      );
    }
    const batch = await store.createBatch({
      id: newId('batch'),
      team: principal.team,
      gatewayKeyId: principal.keyId,
      inputFileId: file.id,
      endpoint: BATCH_ENDPOINT,
      completionWindow: body.completion_window,
      windowMs,
      mode,
      skipInvalidLines: skip === true || skip === 'true',
      metadata,
      now: new Date(),
    });
    // unset, the window and the items per run are sized from the limits by the workflow
    const input: BatchJobInput = {
      batchId: batch.id,
      ...(config.gateway.batchWindow !== undefined ? { window: config.gateway.batchWindow } : {}),
      ...(config.gateway.batchItemsPerRun !== undefined
        ? { itemsPerRun: config.gateway.batchItemsPerRun }
        : {}),
    };
    try {
      await deps.temporal.workflow.start('batchJob', {
        taskQueue: deps.taskQueue,
        workflowId: batchWorkflowId(batch.id),
        args: [input],
      });
    } catch (error) {
      deps.log.warn('batch workflow did not start', { batchId: batch.id, error: String(error) });
      await store.setStatus(batch.id, 'failed', new Date(), {
        errors: [
          {
            code: 'service_unavailable',
            line: null,
            message: 'The batch could not be started.',
            param: null,
          },
        ],
      });
      return sendJson(
        response,
        503,
        {
          error: {
            message: 'The gateway could not start the batch.',
            type: 'api_error',
            code: 'service_unavailable',
          },
        },
        headers,
      );
    }
    return sendJson(
      response,
      200,
      batchObject(batch, { total: 0, completed: 0, failed: 0, spendNanos: 0n }),
      headers,
    );
  }

  if (rest === '/batches' && method === 'GET') {
    const url = new URL(request.url ?? '/', 'http://gateway');
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
    const after = url.searchParams.get('after') ?? undefined;
    const all = principal.role === 'org-admin' || (principal.role === 'viewer' && principal.team === null);
    const rows = await store.listBatches({
      team: all ? null : principal.team,
      ...(principal.role === 'member' ? { gatewayKeyId: principal.keyId } : {}),
      ...(after ? { after } : {}),
      limit: limit + 1,
    });
    const visible = rows.filter((row) => mayRead(principal, row));
    const page = visible.slice(0, limit);
    const data = await Promise.all(
      page.map(async (row) => batchObject(row, await liveCounts(deps, store, row))),
    );
    return sendJson(
      response,
      200,
      {
        object: 'list',
        data,
        first_id: page[0]?.id ?? null,
        last_id: page.at(-1)?.id ?? null,
        has_more: visible.length > limit,
      },
      headers,
    );
  }

  const match = /^\/batches\/([^/]+)(\/cancel)?$/.exec(rest);
  if (!match) return notFound(response, headers, 'batch route');
  // cancelling: who may cancel any batch at all is decided from the key before the batch is read
  if (match[2] && method === 'POST' && !mayEver(principal, 'batches.create')) {
    return sendRefusal(
      response,
      { code: 'permission_denied', message: `A ${principal.role} key may not cancel batches.` },
      headers,
    );
  }
  const batchId = decodeSegment(match[1]!);
  if (batchId === undefined) return notFound(response, headers, 'batch');
  const batch = await store.getBatch(batchId);
  if (!batch || !mayRead(principal, batch)) return notFound(response, headers, 'batch');
  if (!match[2] && method === 'GET') {
    return sendJson(response, 200, batchObject(batch, await liveCounts(deps, store, batch)), headers);
  }
  if (match[2] && method === 'POST') {
    const result = await cancelBatch(deps, principal, batch);
    return result.ok
      ? sendJson(response, 200, result.batch, headers)
      : sendRefusal(response, result.refusal, headers);
  }
  return sendRefusal(
    response,
    { code: 'method_not_allowed', message: `${method} is not supported here.` },
    headers,
  );
}

type Handle = ReturnType<GatewayDeps['temporal']['workflow']['getHandle']>;

async function signal(deps: GatewayDeps, batchId: string, send: (handle: Handle) => Promise<void>) {
  try {
    await send(deps.temporal.workflow.getHandle(batchWorkflowId(batchId)));
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}

/** What a batch control (cancel, pause, resume) answers: the batch object, or a refusal. */
export type BatchControl = { ok: true; batch: Record<string, unknown> } | { ok: false; refusal: Refusal };

/** Cancel (a caller who may create batches for its team); shared by the API and the console. */
export async function cancelBatch(
  deps: GatewayDeps,
  principal: Principal,
  batch: BatchRow,
): Promise<BatchControl> {
  const store = new BatchStore(deps.ledger.sql);
  if (!mayRead(principal, batch))
    return { ok: false, refusal: { code: 'not_found', message: 'No such batch.' } };
  const decision = authorize(principal, 'batches.create', { team: batch.team });
  if (!decision.allowed)
    return { ok: false, refusal: { code: 'permission_denied', message: decision.reason } };
  let current = batch;
  if (!FINAL_BATCH_STATUSES.includes(batch.status)) {
    current = (await store.setStatus(batch.id, 'cancelling', new Date())) ?? batch;
    await signal(deps, batch.id, (handle) => handle.signal(cancelBatchSignal));
  }
  return { ok: true, batch: batchObject(current, await liveCounts(deps, store, current)) };
}

/** Pause or resume (an org-admin, or the team-admin of the batch's team); shared by the API and the console. */
export async function pauseOrResumeBatch(
  deps: GatewayDeps,
  principal: Principal,
  batchId: string,
  action: 'pause' | 'resume',
): Promise<BatchControl> {
  const store = new BatchStore(deps.ledger.sql);
  const batch = await store.getBatch(batchId);
  if (!batch || !mayRead(principal, batch))
    return { ok: false, refusal: { code: 'not_found', message: 'No such batch.' } };
  const admin =
    principal.role === 'org-admin' || (principal.role === 'team-admin' && principal.team === batch.team);
  if (!admin) {
    return {
      ok: false,
      refusal: {
        code: 'permission_denied',
        message: 'Only an org-admin or the team-admin of its team may pause a batch.',
      },
    };
  }
  if (FINAL_BATCH_STATUSES.includes(batch.status)) {
    return {
      ok: false,
      refusal: { code: 'invalid_request_error', message: `Batch ${batch.id} is ${batch.status}.` },
    };
  }
  await store.setPaused(batch.id, action === 'pause');
  await signal(deps, batch.id, (handle) => handle.signal(pauseBatchSignal, action === 'pause'));
  const current = (await store.getBatch(batch.id)) ?? batch;
  return { ok: true, batch: batchObject(current, await liveCounts(deps, store, current)) };
}

/** POST /admin/batches/{id}/pause | /resume */
export async function handleBatchAdmin(
  deps: GatewayDeps,
  response: ServerResponse,
  principal: Principal,
  batchId: string,
  action: 'pause' | 'resume',
  headers: Record<string, string>,
): Promise<void> {
  const result = await pauseOrResumeBatch(deps, principal, batchId, action);
  return result.ok
    ? sendJson(response, 200, result.batch, headers)
    : sendRefusal(response, result.refusal, headers);
}
