/**
 * `/openai/v1/files` endpoints: upload (multipart/form-data with `purpose=batch` and a `.jsonl` file of at
 * most 100 MB), list, info, delete, content.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GroqError, invalidRequest, notFound } from './errors';
import { MAX_FILE_BYTES } from './files';
import { readBody, sendJson, type Headers } from './http';
import { boundaryOf, MultipartError, parseMultipart } from './multipart';
import type { EmulatorState } from './state';

/** room for the multipart framing and the other fields around a 100 MB file */
const UPLOAD_OVERHEAD_BYTES = 1024 * 1024;

export async function uploadFile(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Headers,
): Promise<void> {
  const boundary = boundaryOf(req.headers['content-type']);
  if (!boundary) {
    req.resume();
    throw invalidRequest('Content-Type must be multipart/form-data', 'file');
  }
  let body: Buffer;
  try {
    body = await readBody(req, MAX_FILE_BYTES + UPLOAD_OVERHEAD_BYTES);
  } catch (error) {
    if (error instanceof GroqError && error.status === 413) {
      throw new GroqError(
        413,
        'File too large: the limit is 100 MB',
        'invalid_request_error',
        'file_too_large',
        'file',
      );
    }
    throw error;
  }
  let parts;
  try {
    parts = parseMultipart(body, boundary);
  } catch (error) {
    if (error instanceof MultipartError) throw invalidRequest(`malformed multipart body: ${error.message}`);
    throw error;
  }
  const purpose = parts.find((part) => part.name === 'purpose' && part.filename === undefined);
  const file = parts.find((part) => part.name === 'file');
  if (!purpose) throw invalidRequest("'purpose' : property 'purpose' is missing", 'purpose');
  if (purpose.data.toString('utf8').trim() !== 'batch') {
    throw invalidRequest("'purpose' : value must be 'batch'", 'purpose');
  }
  if (!file || file.filename === undefined)
    throw invalidRequest("'file' : property 'file' is missing", 'file');
  if (!file.filename.toLowerCase().endsWith('.jsonl')) {
    throw invalidRequest('The Batch API only supports .jsonl files', 'file');
  }
  if (file.data.length > MAX_FILE_BYTES) {
    throw new GroqError(
      413,
      'File too large: the limit is 100 MB',
      'invalid_request_error',
      'file_too_large',
      'file',
    );
  }
  // copy out of the request buffer so the rest of the body can be collected
  sendJson(res, 200, state.files.create(file.filename, 'batch', Buffer.from(file.data)), headers);
}

export function listFiles(state: EmulatorState, res: ServerResponse, headers: Headers): void {
  sendJson(res, 200, { object: 'list', data: state.files.list() }, headers);
}

export function fileInfo(state: EmulatorState, res: ServerResponse, id: string, headers: Headers): void {
  const info = state.files.info(id);
  if (!info) throw notFound('File', id);
  sendJson(res, 200, info, headers);
}

export function deleteFile(state: EmulatorState, res: ServerResponse, id: string, headers: Headers): void {
  if (!state.files.delete(id)) throw notFound('File', id);
  sendJson(res, 200, { id, object: 'file', deleted: true }, headers);
}

export function fileContent(state: EmulatorState, res: ServerResponse, id: string, headers: Headers): void {
  const content = state.files.content(id);
  if (!content) throw notFound('File', id);
  res.writeHead(200, {
    ...headers,
    'content-type': 'application/octet-stream',
    'content-length': content.length,
  });
  res.end(content);
}
