/** Small HTTP helpers of the gateway: bounded JSON bodies and Groq-shaped answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FIELD_LIMITS } from '../../domain/admin-requests';
import { refusalBody, refusalStatus, type ApiErrorBody, type Refusal } from '../../domain/api-errors';
import { textFault } from '../../domain/text-input';

export class BodyTooLargeError extends Error {}

/** The body's pieces as they arrive, refusing (without reading further) once it exceeds `limit` bytes. */
export async function* bodyPieces(request: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError();
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError();
    yield chunk as Buffer;
  }
}

/** Reads the whole body, refusing (without buffering further) once it exceeds `limit` bytes. */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of bodyPieces(request, limit)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

export function sendError(
  response: ServerResponse,
  status: number,
  body: ApiErrorBody,
  headers: Record<string, string> = {},
): void {
  sendJson(response, status, body, headers);
}

export function sendRefusal(
  response: ServerResponse,
  refusal: Refusal,
  headers: Record<string, string> = {},
): void {
  const extra =
    refusal.retryAfterSeconds !== undefined
      ? { 'retry-after': String(refusal.retryAfterSeconds), ...headers }
      : headers;
  sendError(response, refusalStatus(refusal.code), refusalBody(refusal), extra);
}

/** A percent-encoded path segment, decoded; undefined when its encoding is malformed (`%`, `%E0%A4`). */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The text rule for a request target: every query parameter (name and value, at most
 * `FIELD_LIMITS.queryValue` characters) and every path segment, decoded, must be free of NUL (a lone
 * surrogate cannot come out of percent-decoding). A 400 naming the parameter, or `path`.
 */
export function targetFault(target: string): Refusal | undefined {
  const at = target.indexOf('?');
  const path = at === -1 ? target : target.slice(0, at);
  for (const segment of path.split('/')) {
    const decoded = decodeSegment(segment);
    const fault = decoded === undefined ? undefined : textFault(decoded, 'path');
    if (fault) return { code: 'invalid_request_error', message: fault.message, param: 'path' };
  }
  if (at === -1) return undefined;
  for (const [name, value] of new URLSearchParams(target.slice(at + 1))) {
    const fault =
      textFault(name, 'query parameter name', FIELD_LIMITS.queryValue) ??
      textFault(value, name, FIELD_LIMITS.queryValue);
    if (fault)
      return {
        code: 'invalid_request_error',
        message: fault.message,
        param: fault.path === name ? name : 'query',
      };
  }
  return undefined;
}

/** 503: the gateway could not complete the request (its workflow failed or Temporal is unreachable). */
export function sendUnavailable(response: ServerResponse, headers: Record<string, string>): void {
  sendError(
    response,
    503,
    {
      error: {
        message: 'The gateway could not complete the request.',
        type: 'api_error',
        code: 'service_unavailable',
      },
    },
    headers,
  );
}
