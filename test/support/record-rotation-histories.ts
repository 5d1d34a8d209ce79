/**
 * Records the keyRotation histories the replay test guards (test/fixtures/histories/keyRotation-*.json),
 * on a fresh dev server, a ledger in memory, the emulator and a temporary secret store. Run it when the
 * rotation workflow changes on purpose (name scenarios to record only those, keeping the others as
 * histories of the earlier code):
 *   npx tsx test/support/record-rotation-histories.ts [keyRotation-aborted ...]
 * The histories carry key names and version numbers only: the script checks that no secret is in them.
 */
import { rmSync } from 'node:fs';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createGroqClientFactory } from '../../activities/groq-client';
import { emulatorConfigFor } from '../../client/services/upstream';
import { startEmulator } from '../../emulator';
import { openLedger } from '../../ledger';
import { activityDeps } from '../../workers/dependencies';
import { workflowsPath } from '../../workers/worker';
import {
  abortUpdate,
  approveUpdate,
  rotationStatusQuery,
  skipMonitorUpdate,
  type KeyRotationInput,
  type RotationPhase,
} from '../../workflows/key-rotation-messages';
import { showHistory, withRecordingServer, writeHistory } from './history-recording';
import { KEY, NEW_KEY_AT_EMULATOR, rotationParts } from './rotation-parts';
import { testConfig } from './test-config';

async function untilPhase(handle: WorkflowHandle, phase: RotationPhase): Promise<void> {
  while ((await handle.query(rotationStatusQuery)).phase !== phase) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const scenarios: {
  name: string;
  input: KeyRotationInput;
  before?: (revoke: () => void) => void;
  during?: (handle: WorkflowHandle) => Promise<void>;
}[] = [
  {
    name: 'keyRotation-completed',
    input: { keyName: KEY, actor: 'recorder', monitorWindowMs: 2000, checkIntervalMs: 500 },
  },
  {
    name: 'keyRotation-validation-failed',
    input: { keyName: KEY, actor: 'recorder', monitorWindowMs: 2000, checkIntervalMs: 500 },
    before: (revoke) => revoke(),
  },
  {
    name: 'keyRotation-aborted',
    input: { keyName: KEY, actor: 'recorder', monitorWindowMs: 60_000, checkIntervalMs: 500 },
    during: async (handle) => {
      await untilPhase(handle, 'monitoring');
      await handle.executeUpdate(abortUpdate, { args: [{ actor: 'recorder', reason: 'recorded abort' }] });
    },
  },
  {
    name: 'keyRotation-approved-skipped',
    input: {
      keyName: KEY,
      actor: 'recorder',
      monitorWindowMs: 60_000,
      checkIntervalMs: 500,
      requireApproval: true,
    },
    during: async (handle) => {
      await untilPhase(handle, 'awaiting-approval');
      await handle.executeUpdate(approveUpdate, { args: [{ actor: 'recorder' }] });
      await untilPhase(handle, 'monitoring');
      await handle.executeUpdate(skipMonitorUpdate, {
        args: [{ actor: 'recorder', reason: 'recorded skip' }],
      });
    },
  },
];
const only = process.argv.slice(2);

await withRecordingServer(17343, async (server) => {
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  for (const scenario of scenarios.filter((s) => only.length === 0 || only.includes(s.name))) {
    const config = testConfig();
    const ledger = await openLedger({ inMemory: true });
    const emulator = await startEmulator({
      config: emulatorConfigFor(config),
      keys: config.upstreamKeys.map((key) => ({ name: key.name })),
    });
    const parts = await rotationParts(ledger, emulator);
    const groq = createGroqClientFactory({ baseURL: emulator.url, resolver: parts.resolver });
    scenario.before?.(() => emulator.revokeKey(NEW_KEY_AT_EMULATOR));
    const taskQueue = `record-${scenario.name}`;
    const worker = await Worker.create({
      connection: workerConnection,
      taskQueue,
      workflowsPath,
      activities: createActivities({ ...activityDeps({ ledger, groq }), rotation: parts.rotation }),
    });
    const handle = await client.workflow.start('keyRotation', {
      taskQueue,
      workflowId: `record-${scenario.name}`,
      args: [scenario.input],
    });
    await worker.runUntil(async () => {
      await scenario.during?.(handle);
      return handle.result();
    });
    const { history, text } = showHistory(server.address, handle.workflowId);
    for (const secret of [parts.oldSecret, parts.newSecret]) {
      if (text.includes(secret) || text.includes(Buffer.from(secret).toString('base64'))) {
        throw new Error(`a secret is in the history of ${scenario.name}`);
      }
    }
    writeHistory(scenario.name, history);
    await emulator.close();
    await ledger.close();
    rmSync(parts.dataDir, { recursive: true, force: true });
  }
  await connection.close();
  await workerConnection.close();
});
