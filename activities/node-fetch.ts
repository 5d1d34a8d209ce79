/**
 * A `fetch` for the worker's `groq-sdk` clients (its `fetch` option), built on ./http-exchange.ts. It takes
 * the requests the SDK makes for JSON calls (a string or byte body, or none) and reads the whole answer
 * before resolving, except a server-sent event stream, whose body streams as it arrives. Anything else (a
 * `Request` object, a multipart or streamed body, another scheme) goes to the built-in `fetch`. Errors
 * look like the built-in's: a connection failure is a `TypeError('fetch failed')` whose `cause` is the
 * socket's error, an abort (the SDK's timeout or its caller's signal) an `AbortError`.
 */
import { Readable } from 'node:stream';
import { decodedBody, NULL_BODY_STATUSES, readBody, send } from './http-exchange';

function isAbort(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'AbortError';
}

function asFetchError(error: unknown): unknown {
  return isAbort(error) ? error : new TypeError('fetch failed', { cause: error });
}

function headersOf(rawHeaders: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) headers.append(rawHeaders[i]!, rawHeaders[i + 1]!);
  return headers;
}

export const nodeFetch: typeof fetch = async (input, init) => {
  const body = init?.body ?? undefined;
  const plainBody = body === undefined || typeof body === 'string' || body instanceof Uint8Array;
  if (input instanceof Request || !plainBody) return fetch(input, init);
  const url = input instanceof URL ? input : new URL(input);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fetch(input, init);
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const method = (init?.method ?? 'GET').toUpperCase();
  let response;
  try {
    response = await send(url, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(init?.signal ? { signal: init.signal } : {}),
    });
  } catch (error) {
    throw asFetchError(error);
  }
  const status = response.statusCode ?? 502;
  const responseInit = {
    status,
    statusText: response.statusMessage ?? '',
    headers: headersOf(response.rawHeaders),
  };
  if (NULL_BODY_STATUSES.has(status) || method === 'HEAD') {
    response.resume();
    return new Response(null, responseInit);
  }
  const type = String(response.headers['content-type'] ?? '');
  if (type.includes('text/event-stream')) {
    return new Response(Readable.toWeb(decodedBody(response)) as ReadableStream<Uint8Array>, responseInit);
  }
  try {
    return new Response(await readBody(response), responseInit);
  } catch (error) {
    throw asFetchError(error);
  }
};
