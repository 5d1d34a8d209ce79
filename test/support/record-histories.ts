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
import { failureConverterPath } from '../../workers/codec';
import { installRuntime } from '../../workers/runtime';
import { workflowsPath } from '../../workers/worker';
import { createGroqClientFactory } from '../../activities/groq-client';
import { staticKeyResolver } from '../../activities/upstream-keys';
import { issueKey } from '../../client/services/gateway-keys';
import { emulatorConfigFor } from '../../client/services/upstream';
import { startEmulator } from '../../emulator';
import { openLedger } from '../../ledger';
import { activityDeps } from '../../workers/dependencies';
import { recoveringUpstream } from './fake-self-check';
import { testConfig } from './test-config';

// governed completions run against a real ledger (in memory) and the emulator, with a member key
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
const completionActivities = createActivities({
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
const completion = (requestId: string, request: Record<string, unknown>) => ({
  requestId,
  gatewayKeyId: member.record.id,
  request: { model: 'llama-3.1-8b-instant', messages: [{ role: 'user', content: 'Hello' }], ...request },
  interactive: true,
  maxWaitMs: 5000,
});

interface Scenario {
  name: string;
  workflowType: string;
  args: unknown[];
  activities: ReturnType<typeof createActivities>;
  before?: () => void;
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
  {
    name: 'governedCompletion-success',
    workflowType: 'governedCompletion',
    args: [completion('req_recordsuccess0000000000000', { max_completion_tokens: 20 })],
    activities: completionActivities,
  },
  {
    name: 'governedCompletion-model-refused',
    workflowType: 'governedCompletion',
    args: [completion('req_recordrefused0000000000000', { model: 'llama-3.3-70b-versatile' })],
    activities: completionActivities,
  },
  {
    name: 'governedCompletion-retried-429',
    workflowType: 'governedCompletion',
    args: [completion('req_record429000000000000000000'.slice(0, 30), { max_completion_tokens: 10 })],
    activities: completionActivities,
    before: () => void emulator.injectFault({ kind: 'status', status: 429, retryAfter: 1, count: 1 }),
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
      dataConverter: { failureConverterPath },
      activities: scenario.activities,
    });
    scenario.before?.();
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
  await emulator.close();
  await ledger.close();
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
