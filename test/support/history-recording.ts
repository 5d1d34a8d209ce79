/**
 * What the history recorders (record-histories.ts, record-batch-histories.ts,
 * record-rotation-histories.ts) share: governed-completion activities on a ledger in memory and the
 * emulator, a fresh dev server, and `temporal workflow show` into test/fixtures/histories/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivities } from '../../activities';
import { createGroqClientFactory } from '../../activities/groq-client';
import { staticKeyResolver } from '../../activities/upstream-keys';
import { issueKey } from '../../client/services/gateway-keys';
import { startDevServer, type RunningDevServer } from '../../client/services/temporal-dev-server';
import { emulatorConfigFor } from '../../client/services/upstream';
import { startEmulator } from '../../emulator';
import { openLedger } from '../../ledger';
import { ensureTemporal } from '../../scripts/install-temporal.mjs';
import { activityDeps } from '../../workers/dependencies';
import { installRuntime } from '../../workers/runtime';
import { testConfig } from './test-config';

/** a ledger in memory, the emulator, a member key of team alpha and the activities that use them */
export async function completionRecordingParts() {
  const config = testConfig();
  const ledger = await openLedger({ inMemory: true });
  const emulator = await startEmulator({
    config: emulatorConfigFor(config),
    keys: config.upstreamKeys.map((key) => ({ name: key.name })),
  });
  const groq = createGroqClientFactory({
    baseURL: emulator.url,
    resolver: staticKeyResolver(new Map(Object.entries(emulator.addedKeys))),
  });
  const member = await issueKey(ledger, 'operator', { team: 'alpha', role: 'member' }, config);
  const activities = createActivities({
    ...activityDeps({ ledger, groq }),
    completion: {
      ledger,
      config: () => config,
      groq,
      alerts: { notify: async () => undefined },
      log: { info: () => undefined, warn: () => undefined },
      now: Date.now,
      identity: 'recorder',
    },
  });
  return {
    ledger,
    emulator,
    member,
    activities,
    close: async () => {
      await emulator.close();
      await ledger.close();
    },
  };
}

/** runs `record` against a fresh dev server in a scratch folder, then stops it and removes the folder */
export async function withRecordingServer(
  port: number,
  record: (server: RunningDevServer) => Promise<void>,
): Promise<void> {
  installRuntime('ERROR');
  const scratch = mkdtempSync(join(tmpdir(), 'gg-record-'));
  const server = await startDevServer({ dataDir: scratch, port, uiPort: port + 1000 });
  try {
    await record(server);
  } finally {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * A workflow run's history in the standard JSON format every Temporal tool reads (`temporal workflow
 * show`), with the raw text for secret checks; the latest run unless `runId` is given.
 */
export function showHistory(
  address: string,
  workflowId: string,
  runId?: string,
): { history: { events: unknown[] }; text: string } {
  const shown = spawnSync(
    ensureTemporal({ quiet: true }).temporal,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      ...(runId ? ['--run-id', runId] : []),
      '--address',
      address,
      '--output',
      'json',
    ],
    { encoding: 'utf8' },
  );
  if (shown.status !== 0) throw new Error(`temporal workflow show failed: ${shown.stderr}`);
  return { history: JSON.parse(shown.stdout) as { events: unknown[] }, text: shown.stdout };
}

const outDir = new URL('../fixtures/histories/', import.meta.url);

/** writes test/fixtures/histories/<name>.json */
export function writeHistory(name: string, history: { events: unknown[] }): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(new URL(`${name}.json`, outDir), JSON.stringify(history, null, 1) + '\n');
  console.log(`recorded ${name} (${history.events.length} events)`);
}
