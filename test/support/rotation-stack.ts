/**
 * What key-rotation tests share: a ledger (PGlite in memory), the Groq emulator with the old and the
 * new secret of one key name (as two emulator keys, so its request log tells them apart), an encrypted
 * secret store in a temporary folder holding both versions, the versioned resolver, and the rotation
 * activities wired to all of them. Alerts are recorded.
 */
import { rmSync } from 'node:fs';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import { createGroqClientFactory } from '../../activities/groq-client';
import { emulatorConfigFor } from '../../client/services/upstream';
import { startEmulator, type RunningEmulator } from '../../emulator';
import { openLedger, periodOf, type LedgerStore } from '../../ledger';
import { listKeyVersions } from '../../ledger/key-versions';
import { activityDeps } from '../../workers/dependencies';
import { testConfig } from './test-config';
import { KEY, rotationParts, type RotationParts } from './rotation-parts';
import { workflowBundle } from './temporal';

export { KEY, NEW_KEY_AT_EMULATOR, rotationParts, type RotationParts } from './rotation-parts';

export interface RotationStack extends Omit<RotationParts, 'rotation'> {
  ledger: LedgerStore;
  emulator: RunningEmulator;
  activities: ActivityDeps;
  worker(connection: NativeConnection, taskQueue: string, options?: Partial<WorkerOptions>): Promise<Worker>;
  versions(): ReturnType<typeof listKeyVersions>;
  /** a usage row as the completion path records it, on a version of KEY */
  traffic(version: number, count?: number, httpStatus?: number): Promise<void>;
  close(): Promise<void>;
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
