/**
 * Key rotation in a process: the secret store (the encrypted file in the data folder), the resolver
 * that chooses a key version per request (states from the shared ledger, cached at most 2 s; key names
 * without versions still resolve through the environment or the emulator's keys), and the rotation
 * activities' dependencies for a worker.
 */
import type { Logger } from '../../activities/alerts';
import { createKeyAlertSink } from '../../activities/key-alerts';
import type { RotationDeps } from '../../activities/rotation';
import { encryptedFileSecretStore, type SecretStore } from '../../activities/secret-store';
import { versionedKeyResolver, type VersionedKeyResolver } from '../../activities/versioned-keys';
import type { GovernorConfig } from '../../domain/config';
import type { LedgerStore } from '../../ledger';
import type { Upstream } from './upstream';

export interface KeyRotationServices {
  /** the upstream whose resolver knows key versions */
  upstream: Upstream;
  store: SecretStore;
  resolver: VersionedKeyResolver;
  rotation: RotationDeps;
}

export async function keyRotationServices(options: {
  upstream: Upstream;
  ledger: LedgerStore;
  dataDir: string;
  config: GovernorConfig;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  identity?: string;
}): Promise<KeyRotationServices> {
  const { ledger, logger } = options;
  const store = await encryptedFileSecretStore({ dataDir: options.dataDir, env: options.env ?? process.env });
  const alerts = createKeyAlertSink({ webhooks: options.config.org.webhooks, log: logger });
  const resolver = versionedKeyResolver({
    ledger,
    store,
    fallback: options.upstream.resolver,
    alerts,
    ...(options.identity ? { actor: `system:${options.identity}` } : {}),
  });
  return {
    upstream: { ...options.upstream, resolver },
    store,
    resolver,
    rotation: {
      ledger,
      store,
      alerts,
      log: logger,
      baseURL: options.upstream.baseURL,
      changed: (keyName) => resolver.invalidate(keyName),
    },
  };
}
