/**
 * Key rotation on a given ledger and emulator (no vitest in here, so scripts can use it too): KEY's
 * old secret as version 1 (active) and a new secret as version 2 (next) in a temporary encrypted secret
 * store, the new secret also at the emulator under its own name, the versioned resolver and the
 * rotation activities' dependencies. Alerts are recorded.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyAlert, KeyAlertSink } from '../../activities/key-alerts';
import type { RotationDeps } from '../../activities/rotation';
import { encryptedFileSecretStore, type SecretStore } from '../../activities/secret-store';
import { versionedKeyResolver, type VersionedKeyResolver } from '../../activities/versioned-keys';
import { addUpstreamKeyVersion } from '../../client/services/upstream-key-versions';
import type { RunningEmulator } from '../../emulator';
import type { LedgerStore } from '../../ledger';

export const KEY = 'alpha-test-gateway';
/** the new secret's name at the emulator (the emulator knows one secret per name) */
export const NEW_KEY_AT_EMULATOR = 'alpha-test-gateway-next';

export interface RotationParts {
  store: SecretStore;
  resolver: VersionedKeyResolver;
  dataDir: string;
  alerts: KeyAlert[];
  oldSecret: string;
  newSecret: string;
  rotation: RotationDeps;
}

/**
 * Rotation on a given ledger and emulator: the new secret at the emulator, a secret store holding
 * KEY's old secret as version 1 (active) and the new one as version 2 (next), the versioned resolver.
 */
export async function rotationParts(
  ledger: LedgerStore,
  emulator: RunningEmulator,
  options: { cacheMs?: number } = {},
): Promise<RotationParts> {
  const oldSecret = emulator.addedKeys[KEY]!;
  const newSecret = emulator.addKey(NEW_KEY_AT_EMULATOR).secret;
  const dataDir = mkdtempSync(join(tmpdir(), 'gg-rotation-'));
  const store = await encryptedFileSecretStore({ dataDir, env: {} });
  const alerts: KeyAlert[] = [];
  const sink: KeyAlertSink = { notify: async (alert) => void alerts.push(alert) };
  const resolver = versionedKeyResolver({ ledger, store, cacheMs: options.cacheMs ?? 100, alerts: sink });
  await addUpstreamKeyVersion({ ledger, store, keyName: KEY, secret: oldSecret, actor: 'test' });
  await addUpstreamKeyVersion({ ledger, store, keyName: KEY, secret: newSecret, actor: 'test' });
  const quiet = { info: () => undefined, warn: () => undefined };
  const rotation: RotationDeps = {
    ledger,
    store,
    alerts: sink,
    log: quiet,
    baseURL: emulator.url,
    changed: (name) => resolver.invalidate(name),
  };
  return { store, resolver, dataDir, alerts, oldSecret, newSecret, rotation };
}
