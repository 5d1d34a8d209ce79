/**
 * Reading a JSON request body at the gateway: bounded in bytes, then the text rule of
 * `domain/text-input.ts` (valid UTF-8, valid JSON, no NUL, no lone surrogate, bounded depth and keys).
 * Every route that takes a JSON body reads it here, once, so a string the ledger or an activity could
 * choke on is refused with 400 before anything else happens.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Refusal } from '../../domain/api-errors';
import { parseJsonInput } from '../../domain/text-input';
import { BodyTooLargeError, readBody, sendRefusal } from './http';

export type JsonBody<T> = { ok: true; value: T } | { ok: false; refusal: Refusal; close?: boolean };

/** The body as any JSON value; an empty body is `empty` when given, else a parse error. */
export async function readJsonBody(
  request: IncomingMessage,
  limit: number,
  options: { empty?: unknown } = {},
): Promise<JsonBody<unknown>> {
  let raw: Buffer;
  try {
    raw = await readBody(request, limit);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    return {
      ok: false,
      close: true,
      refusal: { code: 'request_too_large', message: `The request body is larger than ${limit} bytes.` },
    };
  }
  const parsed = parseJsonInput(raw, options);
  if (parsed.ok) return parsed;
  return {
    ok: false,
    refusal: {
      code: 'invalid_request_error',
      message: parsed.fault.message,
      ...(parsed.fault.path ? { param: parsed.fault.path } : {}),
    },
  };
}

/** The body as a JSON object (an empty body is `{}`); anything else is refused. */
export async function readJsonObject(
  request: IncomingMessage,
  limit: number,
): Promise<JsonBody<Record<string, unknown>>> {
  const body = await readJsonBody(request, limit, { empty: {} });
  if (!body.ok) return body;
  const value = body.value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return { ok: true, value: value as Record<string, unknown> };
  return { ok: false, refusal: { code: 'invalid_request_error', message: 'Send a JSON object.' } };
}

/** Answers a refused body (413 closes the connection: the rest of the body was never read). */
export function refuseBody(
  response: ServerResponse,
  body: { refusal: Refusal; close?: boolean },
  headers: Record<string, string>,
): void {
  sendRefusal(response, body.refusal, body.close ? { ...headers, connection: 'close' } : headers);
}
