/**
 * The official `groq-sdk`, configured for use inside activities: `maxRetries: 0` so Temporal owns
 * retries, and the key resolved by name per call. Clients are cached per key version.
 */
import Groq from 'groq-sdk';
import type { UpstreamKeyResolver } from './upstream-keys';

export interface GroqClientFactory {
  /** a client for the current version of the named key, and that version */
  clientFor(keyName: string): Promise<{ client: Groq; version: number }>;
  /** Groq answered 401 for this version: mark it suspect; `failover` when another valid version exists */
  keyRejected(keyName: string, version: number): Promise<{ failover: boolean }>;
}

export function createGroqClientFactory(options: {
  baseURL: string;
  resolver: UpstreamKeyResolver;
  timeoutMs?: number;
}): GroqClientFactory {
  const cache = new Map<string, Groq>();
  return {
    async clientFor(keyName) {
      const { secret, version } = await options.resolver.resolve(keyName);
      const cacheKey = `${keyName}\u0000${version}\u0000${secret}`;
      let client = cache.get(cacheKey);
      if (!client) {
        client = new Groq({
          apiKey: secret,
          baseURL: options.baseURL,
          maxRetries: 0,
          timeout: options.timeoutMs ?? 60_000,
        });
        cache.set(cacheKey, client);
      }
      return { client, version };
    },
    async keyRejected(keyName, version) {
      return options.resolver.rejected ? options.resolver.rejected(keyName, version) : { failover: false };
    },
  };
}
