/**
 * Probing an HTTP server the way a hostile caller would: requests with arbitrary methods, paths, headers
 * and bodies (node:http, which still refuses header values no server should see), raw bytes over a
 * socket (which refuses nothing), and the check every gateway error answer must pass.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { expect } from 'vitest';

export interface ProbeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface ProbeRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** The headers with a content-length when a body is sent and nothing else frames it. */
function framed(req: ProbeRequest): Record<string, string> {
  const headers = { ...req.headers };
  const names = Object.keys(headers).map((name) => name.toLowerCase());
  if (req.body !== undefined && !names.includes('content-length') && !names.includes('transfer-encoding'))
    headers['content-length'] = String(Buffer.byteLength(req.body));
  return headers;
}

/** One request through node:http; the whole answer, whatever its status. */
export function probe(baseUrl: string, req: ProbeRequest): Promise<ProbeAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: framed(req),
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/**
 * Writes raw bytes to the server and reads until it closes the connection (or `idleMs` passes with
 * nothing more). Returns the status of the first response line, or null when none came.
 */
export function rawExchange(baseUrl: string, bytes: Buffer, idleMs = 2_000): Promise<number | null> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const finish = () => {
      socket.destroy();
      const head = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve(match ? Number(match[1]) : null);
    };
    socket.setTimeout(idleMs, finish);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', () => socket.end(bytes));
  });
}

/** Raw bytes in, the whole (single) answer out, parsed: for requests node:http would not send. */
export function probeRaw(baseUrl: string, text: string): Promise<ProbeAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const whole = Buffer.concat(chunks).toString('utf8');
      const split = whole.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = whole.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text: whole.slice(split + 4) });
    });
    socket.on('connect', () => socket.end(Buffer.from(text, 'latin1')));
  });
}

/** A 4xx answer in Groq's error shape, with the request id every gateway answer carries. */
export function expectGroqError(answer: ProbeAnswer, statuses: readonly number[], code?: string): void {
  const context = `${answer.status} ${JSON.stringify(answer.headers)} ${answer.text.slice(0, 300)}`;
  expect(statuses, context).toContain(answer.status);
  expect(answer.status, context).toBeGreaterThanOrEqual(400);
  expect(answer.status, context).toBeLessThan(500);
  expect(String(answer.headers['content-type']), context).toMatch(/^application\/json/);
  expect(String(answer.headers['x-request-id']), context).toMatch(/\S/);
  const body = JSON.parse(answer.text) as { error?: { message?: unknown; type?: unknown; code?: unknown } };
  expect(typeof body.error?.message, context).toBe('string');
  expect(typeof body.error?.type, context).toBe('string');
  if (code !== undefined) expect(body.error?.code, context).toBe(code);
}
