/**
 * HTTP requests on `node:http`/`node:https` with keep-alive agents, for the hot paths that talk to Groq:
 * the worker's `groq-sdk` clients (through ./node-fetch.ts) and the egress's forwarding. The built-in
 * `fetch` (undici) costs about 0.3 ms of CPU more per call in Request, Response, web streams and abort
 * plumbing (measured with `groq-sdk` against a local server: 0.56-0.73 ms per call and client+server with
 * `fetch`, 0.21-0.34 ms with this); a batch item pays it twice (worker, egress).
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

const agents = {
  http: new HttpAgent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets: Infinity, scheduling: 'lifo' }),
  https: new HttpsAgent({
    keepAlive: true,
    keepAliveMsecs: 30_000,
    maxSockets: Infinity,
    scheduling: 'lifo',
  }),
};

export interface ExchangeRequest {
  method: string;
  headers: OutgoingHttpHeaders;
  body?: string | Uint8Array;
  /** aborting destroys the request: the promise (or the body being read) fails with an AbortError */
  signal?: AbortSignal;
}

/** Sends one request; resolves with the response once its status and headers are in. */
export function send(url: URL, request: ExchangeRequest): Promise<IncomingMessage> {
  const https = url.protocol === 'https:';
  if (!https && url.protocol !== 'http:')
    return Promise.reject(new TypeError(`unsupported URL ${url.protocol}`));
  const headers = { ...request.headers };
  if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
  return new Promise((resolve, reject) => {
    const outgoing = (https ? httpsRequest : httpRequest)(
      url,
      {
        method: request.method,
        headers,
        agent: https ? agents.https : agents.http,
        ...(request.signal ? { signal: request.signal } : {}),
      },
      resolve,
    );
    outgoing.once('error', reject);
    outgoing.end(request.body);
  });
}

/** The response's body, decoded when the server compressed it (gzip, deflate, br). */
export function decodedBody(response: IncomingMessage): Readable {
  const encoding = String(response.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (!decoder) return response;
  response.once('error', (error) => decoder.destroy(error));
  return response.pipe(decoder);
}

/** Reads the whole (decoded) body. */
export async function readBody(response: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of decodedBody(response)) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Statuses whose response has no body (a `Response` refuses one). */
export const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
