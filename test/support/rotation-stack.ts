/**
 * What key-rotation tests share: a ledger (PGlite in memory), the Groq emulator with the old and the
 * new secret of one key name (as two emulator keys, so its request log tells them apart), an encrypted
 * secret store in a temporary folder holding both versions, the versioned resolver, and the rotation
 * activities wired to all of them. Alerts are recorded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import type { RotationDeps } from '../../activities/rotation';
import { createGroqClientFactory } from '../../activities/groq-client';
import type { KeyAlert, KeyAlertSink } from '../../activities/key-alerts';
import { encryptedFileSecretStore, type SecretStore } from '../../activities/secret-store';
import { versionedKeyResolver, type VersionedKeyResolver } from '../../activities/versioned-keys';
import { addUpstreamKeyVersion } from '../../client/services/upstream-key-versions';
import { emulatorConfigFor } from '../../client/services/upstream';
import { startEmulator, type RunningEmulator } from '../../emulator';
import { openLedger, periodOf, type LedgerStore } from '../../ledger';
import { listKeyVersions } from '../../ledger/key-versions';
import { activityDeps } from '../../workers/dependencies';
import { testConfig } from './test-config';
import { workflowBundle } from './temporal';

export const KEY = 'alpha-test-gateway';
/** the new secret's name at the emulator (the emulator knows one secret per name) */
export const NEW_KEY_AT_EMULATOR = 'alpha-test-gateway-next';

export interface RotationStack {
  ledger: LedgerStore;
  emulator: RunningEmulator;
  store: SecretStore;
  resolver: VersionedKeyResolver;
  dataDir: string;
  alerts: KeyAlert[];
  oldSecret: string;
  newSecret: string;
  activities: ActivityDeps;
  worker(connection: NativeConnection, taskQueue: string, options?: Partial<WorkerOptions>): Promise<Worker>;
  versions(): ReturnType<typeof listKeyVersions>;
  /** a usage row as the completion path records it, on a version of KEY */
  traffic(version: number, count?: number, httpStatus?: number): Promise<void>;
  close(): Promise<void>;
}

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

export async function startRotationStack(options: { cacheMs?: number } = {}): Promise<RotationStack> {
  const config = testConfig();
  const ledger = await openLedger({ inMemory: true });
  const emulator = await startEmulator({
    config: emulatorConfigFor(config),
    keys: config.upstreamKeys.map((key) => ({ name: key.name })),
  });
  const { store, resolver, dataDir, alerts, oldSecret, newSecret, rotation } = await rotationParts(
    ledger,
    emulator,
    options,
  );
  const groq = createGroqClientFactory({ baseURL: emulator.url, resolver });
  const activities: ActivityDeps = { ...activityDeps({ ledger, groq }), rotation };
  let requests = 0;
  return {
    ledger,
    emulator,
    store,
    resolver,
    dataDir,
    alerts,
    oldSecret,
    newSecret,
    activities,
    worker: (connection, taskQueue, extra) =>
      Worker.create({
        connection,
        taskQueue,
        workflowBundle: workflowBundle(),
        activities: createActivities(activities),
        ...extra,
      }),
    versions: () => listKeyVersions(ledger.sql, KEY),
    async traffic(version, count = 1, httpStatus = 200) {
      for (let i = 0; i < count; i++) {
        const now = new Date();
        await ledger.recordUsage({
          requestId: `req-test-${process.pid}-${++requests}`,
          attempt: 1,
          period: periodOf(now, 'UTC'),
          team: 'alpha',
          model: 'llama-3.1-8b-instant',
          keyName: KEY,
          keyVersion: version,
          promptTokens: 0,
          completionTokens: 0,
          costNanos: 0n,
          httpStatus,
          outcome: httpStatus === 200 ? 'success' : 'error',
          startedAt: now,
          finishedAt: now,
        });
      }
    },
    async close() {
      await emulator.close();
      await ledger.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
