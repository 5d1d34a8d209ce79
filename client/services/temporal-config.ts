/**
 * One way to reach Temporal everywhere: `@temporalio/envconfig` reads TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS variables and TOML profiles, so the same code talks to the
 * local dev server, a self-hosted cluster or Temporal Cloud. The local defaults apply only where those
 * say nothing.
 */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

export interface TemporalTarget {
  address: string;
  namespace: string;
  connectionOptions: NativeConnectionOptions & { address: string };
  /** true when the environment or a profile named the server (so we must not start our own) */
  configured: boolean;
}

export function resolveTemporalTarget(
  defaults: { address?: string; namespace?: string } = {},
): TemporalTarget {
  const loaded = loadClientConnectConfig();
  const configured = loaded.connectionOptions.address !== undefined;
  const address = loaded.connectionOptions.address ?? defaults.address ?? '127.0.0.1:7233';
  const namespace = loaded.namespace ?? defaults.namespace ?? 'default';
  const { apiKey, tls, metadata } = loaded.connectionOptions;
  const connectionOptions: TemporalTarget['connectionOptions'] = { address };
  if (apiKey !== undefined) connectionOptions.apiKey = apiKey;
  if (tls !== undefined) connectionOptions.tls = tls;
  if (metadata !== undefined) connectionOptions.metadata = metadata;
  return { address, namespace, connectionOptions, configured };
}

/**
 * A client for the target. Pass the same `dataConverter` the workers use (`dataConverterFor(...)` from
 * workers/codec), or the client can neither read results nor write inputs the workers accept.
 */
export async function connectClient(
  target: TemporalTarget = resolveTemporalTarget(),
  dataConverter?: DataConverter,
): Promise<Client> {
  const connection = await Connection.connect(target.connectionOptions);
  return new Client({ connection, namespace: target.namespace, ...(dataConverter ? { dataConverter } : {}) });
}
