/**
 * Records the workflow histories that the replay test guards: runs each scenario on a fresh dev server
 * and writes its history to test/fixtures/histories/. Run it when a workflow change is intended:
 *   npx tsx test/support/record-histories.ts
 * then commit the new files next to the old ones (old histories must keep replaying, or the change
 * needs a patch()).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { startDevServer } from '../../client/services/temporal-dev-server';
import { ensureTemporal } from '../../scripts/install-temporal.mjs';
import { installRuntime } from '../../workers/runtime';
import { workflowsPath } from '../../workers/worker';
import { recoveringUpstream } from './fake-self-check';

interface Scenario {
  name: string;
  workflowType: string;
  args: unknown[];
  activities: ReturnType<typeof createActivities>;
}

const scenarios: Scenario[] = [
  {
    name: 'selfCheck-recovering',
    workflowType: 'selfCheck',
    args: [{ keyName: 'platform-dev-selfcheck', maxProbes: 5, probeInterval: '1 second' }],
    activities: createActivities(recoveringUpstream(2).deps),
  },
  {
    name: 'selfCheck-gives-up',
    workflowType: 'selfCheck',
    args: [{ keyName: 'platform-dev-selfcheck', maxProbes: 2, probeInterval: '1 second' }],
    activities: createActivities(recoveringUpstream(10).deps),
  },
];

const outDir = new URL('../fixtures/histories/', import.meta.url);
installRuntime('ERROR');
const scratch = mkdtempSync(join(tmpdir(), 'gg-record-'));
const server = await startDevServer({ dataDir: scratch, port: 17233, uiPort: 18233 });
try {
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  mkdirSync(outDir, { recursive: true });
  for (const scenario of scenarios) {
    const taskQueue = `record-${scenario.name}`;
    const worker = await Worker.create({
      connection: workerConnection,
      taskQueue,
      workflowsPath,
      activities: scenario.activities,
    });
    const handle = await client.workflow.start(scenario.workflowType, {
      taskQueue,
      workflowId: `record-${scenario.name}`,
      args: scenario.args,
    });
    await worker.runUntil(handle.result());
    // the CLI writes the standard JSON history format that every Temporal tool reads
    const shown = spawnSync(
      ensureTemporal({ quiet: true }).temporal,
      [
        'workflow',
        'show',
        '--workflow-id',
        handle.workflowId,
        '--address',
        server.address,
        '--output',
        'json',
      ],
      { encoding: 'utf8' },
    );
    if (shown.status !== 0) throw new Error(`temporal workflow show failed: ${shown.stderr}`);
    const history = JSON.parse(shown.stdout) as { events: unknown[] };
    writeFileSync(new URL(`${scenario.name}.json`, outDir), JSON.stringify(history, null, 1) + '\n');
    console.log(`recorded ${scenario.name} (${history.events.length} events)`);
  }
  await connection.close();
  await workerConnection.close();
} finally {
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
