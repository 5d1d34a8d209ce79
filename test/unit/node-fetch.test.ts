// `nodeFetch`, the worker's groq-sdk clients' fetch: what the SDK sees through it must be what it sees
// through the built-in fetch (answers, headers, API errors, streams as they arrive, timeouts, refused
// connections, compressed bodies), against a real HTTP server on loopback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import Groq, { APIConnectionError, APIConnectionTimeoutError, APIError, toFile } from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFetch } from '../../activities/node-fetch';

const COMPLETION = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'llama-3.1-8b-instant',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
};
const REQUEST = {
  model: 'llama-3.1-8b-instant',
  messages: [{ role: 'user' as const, content: 'Say hello.' }],
};

type Handler = (request: IncomingMessage, body: Buffer, response: ServerResponse) => void;
let handler: Handler = () => undefined;
let server: Server;
let baseURL: string;
/** what the server received last */
let seen: { method?: string; url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
/** resolves when the client has read the stream's first chunk (set by the streaming test) */
let firstChunkRead: Promise<void> = Promise.resolve();

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      seen = { method: request.method, url: request.url, headers: request.headers, body: body.toString() };
      handler(request, body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const client = (timeout = 10_000) =>
  new Groq({ apiKey: 'gsk_test', baseURL, maxRetries: 0, timeout, fetch: nodeFetch });

describe('nodeFetch under groq-sdk', () => {
  it('sends the SDK request as it is and gives back the answer and its headers', async () => {
    handler = (_request, _body, response) => {
      response.writeHead(200, {
        'content-type': 'application/json',
        'x-request-id': 'req_1',
        'x-ratelimit-remaining-requests': '99',
      });
      response.end(JSON.stringify(COMPLETION));
    };
    const { data, response } = await client().chat.completions.create(REQUEST).withResponse();
    expect(data).toEqual(COMPLETION);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('99');
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/openai/v1/chat/completions');
    expect(seen.headers?.authorization).toBe('Bearer gsk_test');
    expect(seen.headers?.['content-type']).toBe('application/json');
    expect(Number(seen.headers?.['content-length'])).toBe(Buffer.byteLength(seen.body ?? ''));
    expect(JSON.parse(seen.body ?? '')).toEqual(REQUEST);
  });

  it('an API error keeps its status, body and headers', async () => {
    handler = (_request, _body, response) => {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      response.end(
        JSON.stringify({
          error: { message: 'Rate limit reached', type: 'tokens', code: 'rate_limit_exceeded' },
        }),
      );
    };
    const error = await client()
      .chat.completions.create(REQUEST)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(APIError);
    expect(error).not.toBeInstanceOf(APIConnectionError);
    expect((error as APIError).status).toBe(429);
    expect((error as APIError).headers?.get('retry-after')).toBe('7');
    expect((error as APIError).error).toEqual({
      error: { message: 'Rate limit reached', type: 'tokens', code: 'rate_limit_exceeded' },
    });
  });

  it('a compressed answer is decoded', async () => {
    handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(gzipSync(JSON.stringify(COMPLETION)));
    };
    expect(await client().chat.completions.create(REQUEST)).toEqual(COMPLETION);
  });

  it('a stream is passed on as it arrives, not when it ends', async () => {
    let clientRead!: () => void;
    firstChunkRead = new Promise((resolve) => (clientRead = resolve));
    const chunk = (content: string) =>
      `data: ${JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        created: 1,
        model: REQUEST.model,
        choices: [{ index: 0, delta: { content }, finish_reason: null }],
      })}\n\n`;
    handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(chunk('Hel'));
      // the rest only once the client has the first chunk: a buffered body would never get it
      void firstChunkRead.then(() => {
        response.write(chunk('lo.'));
        response.end('data: [DONE]\n\n');
      });
    };
    const stream = await client().chat.completions.create({ ...REQUEST, stream: true });
    const parts: string[] = [];
    for await (const event of stream) {
      parts.push(event.choices[0]?.delta.content ?? '');
      clientRead();
    }
    expect(parts.join('')).toBe('Hello.');
  });

  it('a call that outlasts the timeout fails as a timeout', async () => {
    handler = () => undefined; // never answers
    const error = await client(200)
      .chat.completions.create(REQUEST)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('a refused connection fails as a connection error with the socket error as its cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = new Groq({
      apiKey: 'k',
      baseURL: `http://127.0.0.1:${port}`,
      maxRetries: 0,
      fetch: nodeFetch,
    });
    const error = await refused.chat.completions.create(REQUEST).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error).not.toBeInstanceOf(APIConnectionTimeoutError);
    const fetchError = (error as { cause?: { message?: string; cause?: { code?: string } } }).cause;
    expect(fetchError?.message).toBe('fetch failed');
    expect(fetchError?.cause?.code).toBe('ECONNREFUSED');
  });

  it('a multipart upload goes through the built-in fetch', async () => {
    handler = (_request, body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ text: `got ${body.includes('RIFF') ? 'audio' : 'nothing'}` }));
    };
    const file = await toFile(Buffer.from('RIFF....WAVE'), 'a.wav', { type: 'audio/wav' });
    const result = await client().audio.transcriptions.create({ file, model: 'whisper-large-v3-turbo' });
    expect(result.text).toBe('got audio');
    expect(seen.headers?.['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  });

  it('an answer without a body (204, HEAD) is empty', async () => {
    handler = (_request, _body, response) => {
      response.writeHead(204, { 'x-check': 'yes' });
      response.end();
    };
    const answer = await nodeFetch(`${baseURL}/nothing`, { method: 'DELETE' });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('x-check')).toBe('yes');
    expect(await answer.text()).toBe('');
    handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
      response.end();
    };
    const head = await nodeFetch(`${baseURL}/head`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});
