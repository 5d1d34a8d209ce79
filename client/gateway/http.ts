/** Small HTTP helpers of the gateway: bounded JSON bodies and Groq-shaped answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { refusalBody, refusalStatus, type ApiErrorBody, type Refusal } from '../../domain/api-errors';

export class BodyTooLargeError extends Error {}

/** Reads the whole body, refusing (without buffering further) once it exceeds `limit` bytes. */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
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
