/**
 * The official `groq-sdk`, configured for use inside activities: `maxRetries: 0` so Temporal owns
 * retries, and the key resolved by name per call. Clients are cached per key version. With an egress
 * (workers/egress), completion calls go through it, so their answers are journaled even when the worker
 * dies mid-call; every other call goes to Groq directly. The clients send through `nodeFetch`
 * (./node-fetch.ts): the SDK's own requests, at a third of the built-in fetch's CPU.
 */
import Groq from 'groq-sdk';
import { EGRESS_HEADERS } from '../domain/egress';
import { nodeFetch } from './node-fetch';
import type { UpstreamKeyResolver } from './upstream-keys';

/** Where a worker's egress listens (it may move when a dead egress is replaced) and its token. */
export interface EgressRoute {
  url(): string;
  token: string;
}

export interface GroqClientFactory {
  /** a client for the current version of the named key, and that version */
  clientFor(keyName: string): Promise<{ client: Groq; version: number }>;
  /** the client for a completion call: through the egress when there is one (`viaEgress`) */
  callClientFor(keyName: string): Promise<{ client: Groq; version: number; viaEgress: boolean }>;
  /** Groq answered 401 for this version: mark it suspect; `failover` when another valid version exists */
  keyRejected(keyName: string, version: number): Promise<{ failover: boolean }>;
}

export function createGroqClientFactory(options: {
  baseURL: string;
  resolver: UpstreamKeyResolver;
  timeoutMs?: number;
  egress?: EgressRoute;
  /** the clients' fetch (default `nodeFetch`) */
  fetch?: typeof fetch;
}): GroqClientFactory {
  const cache = new Map<string, Groq>();
  const clientOf = async (keyName: string, egress: EgressRoute | undefined) => {
    const { secret, version } = await options.resolver.resolve(keyName);
    const baseURL = egress ? egress.url() : options.baseURL;
    const cacheKey = `${keyName}\u0000${version}\u0000${secret}\u0000${baseURL}`;
    let client = cache.get(cacheKey);
    if (!client) {
      client = new Groq({
        apiKey: secret,
        baseURL,
        maxRetries: 0,
        timeout: options.timeoutMs ?? 60_000,
        fetch: options.fetch ?? nodeFetch,
        ...(egress ? { defaultHeaders: { [EGRESS_HEADERS.token]: egress.token } } : {}),
      });
      cache.set(cacheKey, client);
    }
    return { client, version };
  };
  return {
    clientFor: (keyName) => clientOf(keyName, undefined),
    async callClientFor(keyName) {
      return { ...(await clientOf(keyName, options.egress)), viaEgress: options.egress !== undefined };
    },
    async keyRejected(keyName, version) {
      return options.resolver.rejected ? options.resolver.rejected(keyName, version) : { failover: false };
    },
  };
}
