/** `/openai/v1/batches` endpoints: create, retrieve, list, cancel. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BATCH_ENDPOINT, completionWindowHours } from './batches';
import { GroqError, invalidRequest, notFound } from './errors';
import { parseJson, readBody, sendJson, type Headers } from './http';
import type { EmulatorState } from './state';

export async function createBatch(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  keyName: string,
  headers: Headers,
): Promise<void> {
  const body = parseJson(await readBody(req, state.config.maxBodyBytes));
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest('request body must be a JSON object');
  }
  const {
    input_file_id: inputFileId,
    endpoint,
    completion_window: window,
    metadata,
  } = body as Record<string, unknown>;
  if (typeof inputFileId !== 'string' || inputFileId === '') {
    throw invalidRequest("'input_file_id' : property 'input_file_id' is missing", 'input_file_id');
  }
  if (endpoint !== BATCH_ENDPOINT) {
    throw invalidRequest(`'endpoint' : value must be '${BATCH_ENDPOINT}'`, 'endpoint');
  }
  if (typeof window !== 'string' || completionWindowHours(window) === undefined) {
    throw invalidRequest(
      "'completion_window' : value must be a duration from 24h to 7d (e.g. '24h', '48h', '7d')",
      'completion_window',
    );
  }
  if (
    metadata !== undefined &&
    metadata !== null &&
    (typeof metadata !== 'object' || Array.isArray(metadata))
  ) {
    throw invalidRequest("'metadata' : value must be an object", 'metadata');
  }
  const file = state.files.info(inputFileId);
  if (!file) {
    throw new GroqError(
      400,
      `Invalid input_file_id: the file '${inputFileId}' does not exist`,
      'invalid_request_error',
      'invalid_file',
      'input_file_id',
    );
  }
  if (file.purpose !== 'batch') {
    throw invalidRequest(`The file '${inputFileId}' was not uploaded with purpose 'batch'`, 'input_file_id');
  }
  const batch = state.batches.create({
    inputFileId,
    endpoint,
    completionWindow: window,
    metadata: (metadata as Record<string, unknown> | null | undefined) ?? null,
    keyName,
  });
  sendJson(res, 200, batch, headers);
}

export function retrieveBatch(state: EmulatorState, res: ServerResponse, id: string, headers: Headers): void {
  const batch = state.batches.get(id);
  if (!batch) throw notFound('Batch', id);
  sendJson(res, 200, batch, headers);
}

export function listBatches(state: EmulatorState, res: ServerResponse, headers: Headers): void {
  const data = state.batches.list();
  sendJson(
    res,
    200,
    {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: false,
    },
    headers,
  );
}

export function cancelBatch(state: EmulatorState, res: ServerResponse, id: string, headers: Headers): void {
  const result = state.batches.cancel(id);
  if (result === 'not_found') throw notFound('Batch', id);
  if (result === 'not_cancellable') {
    const status = state.batches.get(id)?.status ?? 'unknown';
    throw invalidRequest(`Cannot cancel a batch with status '${status}'.`);
  }
  sendJson(res, 200, result, headers);
}
