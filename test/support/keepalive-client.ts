/**
 * A tight in-process HTTP client for fuzzing: a few keep-alive connections, requests sent as fast as
 * the server answers, every answer read whole. A request whose connection broke without an answer is
 * counted as dropped (and answered with status 0), never retried.
 */
import { Agent, request as httpRequest } from 'node:http';

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** why no answer came (status 0) */
  error?: string;
}

export class KeepAliveClient {
  readonly agent: Agent;
  private readonly url: URL;
  sent = 0;
  dropped = 0;

  constructor(baseUrl: string, connections = 8) {
    this.url = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  send(req: RawRequest): Promise<RawAnswer> {
    this.sent += 1;
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(req.body.length);
    return new Promise((resolve) => {
      const outgoing = httpRequest(
        {
          host: this.url.hostname,
          port: this.url.port,
          method: req.method,
          path: req.path,
          headers,
          agent: this.agent,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => {
            this.dropped += 1;
            resolve({ status: 0, headers: {}, text: '', error: String(error) });
          });
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        },
      );
      outgoing.on('error', (error) => {
        this.dropped += 1;
        resolve({ status: 0, headers: {}, text: '', error: String(error) });
      });
      outgoing.end(req.body);
    });
  }

  /** Runs `cases` through `connections` concurrent lanes; `check` sees each answer. */
  async run<C>(
    cases: Iterable<C>,
    toRequest: (item: C) => RawRequest,
    check: (item: C, answer: RawAnswer) => void | Promise<void>,
    lanes = 8,
  ): Promise<void> {
    const iterator = cases[Symbol.iterator]();
    const lane = async () => {
      for (let next = iterator.next(); !next.done; next = iterator.next()) {
        const answer = await this.send(toRequest(next.value));
        await check(next.value, answer);
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
  }

  close(): void {
    this.agent.destroy();
  }
}
