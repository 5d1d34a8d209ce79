/**
 * Running one `governedModality` workflow for the gateway and answering with its result: JSON, plain
 * text, or audio read (and then deleted) from the ledger, where the call activity left it sealed.
 */
import type { ServerResponse } from 'node:http';
import { blobSealer } from '../../workers/codec';
import { deleteUpload, getUpload, putUpload } from '../../ledger/modalities';
import type { GovernedModalityInput, GovernedModalityResult } from '../../workflows/governed-modality';
import { sendError, sendJson, sendUnavailable } from './http';
import type { GatewayDeps, RequestContext } from './deps';

export function modalityWorkflowId(requestId: string): string {
  return `modality-${requestId}`;
}

/** Seals with the same payload codecs as the gateway's Temporal client (none: stored as is). */
export function gatewaySealer(deps: GatewayDeps) {
  return blobSealer(deps.temporal.options.loadedDataConverter.payloadCodecs ?? []);
}

export async function storeUpload(
  deps: GatewayDeps,
  upload: { id: string; team: string | null; filename: string; data: Buffer },
): Promise<void> {
  await putUpload(deps.ledger.sql, {
    id: upload.id,
    team: upload.team,
    filename: upload.filename,
    bytes: upload.data.length,
    sealed: await gatewaySealer(deps).seal(upload.data),
  });
}

export async function runModality(
  deps: GatewayDeps,
  context: RequestContext,
  input: GovernedModalityInput,
): Promise<GovernedModalityResult | undefined> {
  try {
    return await deps.temporal.workflow.execute('governedModality', {
      taskQueue: deps.taskQueue,
      workflowId: modalityWorkflowId(context.requestId),
      args: [input],
      ...(deps.eagerStart ? { requestEagerStart: true } : {}),
    });
  } catch (error) {
    deps.log.warn('modality workflow failed', { requestId: context.requestId, error: String(error) });
    return undefined;
  }
}

/** Answer a finished workflow: its refusal or upstream error, or its answer in the caller's format. */
export async function answerModality(
  deps: GatewayDeps,
  response: ServerResponse,
  context: RequestContext,
  result: GovernedModalityResult | undefined,
): Promise<void> {
  if (!result) return sendUnavailable(response, context.headers);
  if (!result.ok) {
    return sendError(response, result.status, result.error, {
      ...context.headers,
      ...(result.retryAfterSeconds !== undefined ? { 'retry-after': String(result.retryAfterSeconds) } : {}),
    });
  }
  const headers = {
    ...context.headers,
    ...(result.upstreamRequestId ? { 'x-groq-request-id': result.upstreamRequestId } : {}),
  };
  const { answer } = result;
  if (answer.type === 'json') return sendJson(response, 200, answer.body, headers);
  if (answer.type === 'text') {
    response.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(answer.text),
      ...headers,
    });
    response.end(answer.text);
    return;
  }
  const stored = await getUpload(deps.ledger.sql, answer.blobId);
  if (!stored) return sendUnavailable(response, context.headers);
  const audio = await gatewaySealer(deps).open(stored.sealed);
  response.writeHead(200, { 'content-type': answer.contentType, 'content-length': audio.length, ...headers });
  response.end(audio);
  await deleteUpload(deps.ledger.sql, answer.blobId);
}
