/**
 * The egress: a small HTTP forwarder between a worker's groq-sdk client and Groq, run in a process of its
 * own beside the worker (./process.ts) so that it outlives the worker. A request that names its
 * reservation (`x-governor-attempt`) is begun in the egress journal before it is sent and Groq's answer
 * is written there before it is passed on; a request whose reservation was fenced by a recovering run
 * is refused without being sent. When the worker dies mid-call the egress still receives the answer, and
 * the attempt's next run books it from the journal instead of calling Groq a second time.
 *
 * The egress holds no secret of its own: the worker's request carries the Groq key, which is forwarded
 * and never logged or journaled. The egress answers only requests that carry its token.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EGRESS_HEADERS, EGRESS_LEASE_MARGIN_MS } from '../../domain/egress';
import { groupCommit } from '../../domain/group-commit';
import type { UpstreamAnswer, UpstreamCallJournal } from '../../ledger/upstream-calls';
import { readBody, send } from '../../activities/http-exchange';

export interface EgressOptions {
  journal: UpstreamCallJournal;
  /** Groq's base URL (what the worker's clients would otherwise use) */
  upstreamBaseUrl: string;
  token: string;
  /** written to the journal rows this egress begins */
  identity: string;
  /** how long one upstream call may take (the worker's client uses the same) */
  callTimeoutMs?: number;
  port?: number;
  log?: (line: string) => void;
  /** how often settled attempts' rows are dropped from the journal, and how old they must be (0: never) */
  sweep?: { everyMs: number; olderThanMs: number };
}

/** Answers are kept 15 minutes after their attempt is settled, swept every minute. */
export const DEFAULT_SWEEP = { everyMs: 60_000, olderThanMs: 15 * 60_000 };

export interface RunningEgress {
  url: string;
  inFlight(): number;
  /** stop accepting; resolves once every call in flight has its answer journaled and passed on */
  close(): Promise<void>;
}

// hop-by-hop headers, and the ones the forwarding sets itself or undoes (it decodes the body it reads)
const DROPPED_REQUEST = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
const DROPPED_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'content-length',
  'content-encoding',
  'transfer-encoding',
]);

function forwardedHeaders(request: IncomingMessage): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || DROPPED_REQUEST.has(name) || name.startsWith('x-governor-')) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  headers['accept-encoding'] = 'identity';
  return headers;
}

function answerHeaders(response: IncomingMessage): Record<string, string> {
  const kept: Record<string, string> = {};
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
    const name = response.rawHeaders[i]!.toLowerCase();
    if (DROPPED_RESPONSE.has(name)) continue;
    const value = response.rawHeaders[i + 1]!;
    kept[name] = kept[name] === undefined ? value : `${kept[name]}, ${value}`;
  }
  return kept;
}

function tokenMatches(given: string | string[] | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function reply(response: ServerResponse, answer: UpstreamAnswer): void {
  if (response.destroyed) return; // the worker is gone; the journal has the answer
  response.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  response.end(answer.body);
}

/** An answer the egress makes itself (never Groq's): the worker treats it as a call without an answer. */
function egressError(response: ServerResponse, status: number, kind: string, message: string): void {
  reply(response, {
    status,
    headers: { 'content-type': 'application/json', [EGRESS_HEADERS.error]: kind },
    body: JSON.stringify({
      error: { message, type: 'api_error', code: `egress_${kind.replace(/-/g, '_')}` },
    }),
  });
}

async function readAll(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A journal write, tried a few times: a lost write only costs a recovery its answer (held as unknown). */
async function persist<T>(write: () => Promise<T>, log: (line: string) => void): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= 5) {
        log(`egress: journal write failed: ${(error as Error).message}`);
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

export async function startEgress(options: EgressOptions): Promise<RunningEgress> {
  const callTimeoutMs = options.callTimeoutMs ?? 60_000;
  const base = options.upstreamBaseUrl.replace(/\/+$/, '');
  const log = options.log ?? (() => undefined);
  const calls = new Set<Promise<void>>();
  // the journal's begins and answers of calls made at once are written together (group commit); an id
  // twice in one group counts once (the first), as one statement per call would count it
  const firstOnly = (entries: { reservationId: string }[], done: Set<string>) => {
    const seen = new Set<string>();
    return entries.map(({ reservationId }) => {
      const first = !seen.has(reservationId);
      seen.add(reservationId);
      return first && done.has(reservationId);
    });
  };
  const begin = groupCommit(async (entries: Parameters<UpstreamCallJournal['begin']>[0][]) =>
    firstOnly(entries, await options.journal.beginMany(entries)),
  );
  const answer = groupCommit(async (entries: { reservationId: string; answer: UpstreamAnswer }[]) =>
    firstOnly(entries, await options.journal.answerMany(entries)),
  );

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!tokenMatches(request.headers[EGRESS_HEADERS.token], options.token)) {
      egressError(response, 403, 'bad-token', 'This egress answers its own worker only.');
      return;
    }
    const body = await readAll(request);
    const attempt = request.headers[EGRESS_HEADERS.attempt];
    const reservationId = typeof attempt === 'string' && attempt.length > 0 ? attempt : null;
    if (reservationId) {
      const keyVersion = Number(request.headers[EGRESS_HEADERS.keyVersion] ?? 0);
      const begun = await persist(
        () =>
          begin({
            reservationId,
            egress: options.identity,
            keyVersion: Number.isSafeInteger(keyVersion) ? keyVersion : 0,
            leaseMs: callTimeoutMs + EGRESS_LEASE_MARGIN_MS,
          }),
        log,
      );
      if (begun !== true) {
        // fenced by a recovering run, a repeat, or no journal to write to: nothing is sent
        egressError(response, 409, 'fenced', 'The call was not sent: its attempt is settled elsewhere.');
        return;
      }
    }
    let received: UpstreamAnswer;
    try {
      const upstream = await send(new URL(`${base}${request.url ?? '/'}`), {
        method: request.method ?? 'GET',
        headers: forwardedHeaders(request),
        ...(body.length > 0 ? { body } : {}),
        signal: AbortSignal.timeout(callTimeoutMs),
      });
      received = {
        status: upstream.statusCode ?? 502,
        headers: answerHeaders(upstream),
        body: (await readBody(upstream)).toString('utf8'),
      };
    } catch (error) {
      // no answer: Groq may or may not have run it
      if (reservationId) await persist(() => options.journal.fail(reservationId), log);
      egressError(
        response,
        502,
        'no-answer',
        `The upstream call failed without an answer: ${(error as Error).message}`,
      );
      return;
    }
    if (reservationId) await persist(() => answer({ reservationId, answer: received }), log);
    reply(response, received);
  }

  const server = createServer((request, response) => {
    const call = handle(request, response).catch((error: unknown) => {
      log(`egress: ${(error as Error).message}`);
      if (!response.headersSent) egressError(response, 502, 'no-answer', 'The egress failed.');
    });
    calls.add(call);
    void call.finally(() => calls.delete(call));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const sweep = options.sweep ?? DEFAULT_SWEEP;
  const sweeper =
    sweep.everyMs > 0
      ? setInterval(() => {
          options.journal.sweep(sweep.olderThanMs).catch((error: unknown) => {
            log(`egress: journal sweep failed: ${(error as Error).message}`);
          });
        }, sweep.everyMs)
      : undefined;
  sweeper?.unref();
  return {
    url: `http://127.0.0.1:${port}`,
    inFlight: () => calls.size,
    async close() {
      if (sweeper) clearInterval(sweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      while (calls.size > 0) await Promise.allSettled([...calls]);
      server.closeAllConnections();
      await closed;
    },
  };
}
