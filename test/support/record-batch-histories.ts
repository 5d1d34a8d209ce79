/**
 * Records `batchJob` histories for the replay test: a realtime batch of 8 lines with a window of 8
 * (chunks of 2 items) and 6 items per run, so it continues as new once; both runs are written
 * (`batchJob-<name>-run1.json`, `-run2.json`). `batchJob-per-item-*` were recorded with a window of 4.
 * A ledger in memory, the emulator and a fresh dev server. Run it when the batch workflow changes on
 * purpose, naming the recording after the code that made it:
 *   npx tsx test/support/record-batch-histories.ts <name> [window]
 * and commit the new files next to the old ones (old histories must keep replaying).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createGroqClientFactory } from '../../activities/groq-client';
import { staticKeyResolver } from '../../activities/upstream-keys';
import { issueKey } from '../../client/services/gateway-keys';
import { startDevServer } from '../../client/services/temporal-dev-server';
import { emulatorConfigFor } from '../../client/services/upstream';
import { startEmulator } from '../../emulator';
import { openLedger } from '../../ledger';
import { BatchStore } from '../../ledger/batches';
import { ensureTemporal } from '../../scripts/install-temporal.mjs';
import { failureConverterPath } from '../../workers/codec';
import { activityDeps } from '../../workers/dependencies';
import { installRuntime } from '../../workers/runtime';
import { workflowsPath } from '../../workers/worker';
import { testConfig } from './test-config';

const name = process.argv[2];
const window = Number(process.argv[3] ?? 8);
if (!name || !/^[a-z0-9-]+$/.test(name)) throw new Error('usage: record-batch-histories.ts <name>');

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

const batchId = `batch_record_${name.replace(/-/g, '_')}`;
const store = new BatchStore(ledger.sql);
const lines = Array.from({ length: 8 }, (_, n) =>
  JSON.stringify({
    custom_id: `line-${n}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'llama-3.1-8b-instant', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10 },
  }),
).join('\n');
await store.createInputFile({
  id: `file_record_${name.replace(/-/g, '_')}`,
  filename: 'record.jsonl',
  purpose: 'batch',
  team: 'alpha',
  gatewayKeyId: member.record.id,
  content: lines,
});
await store.createBatch({
  id: batchId,
  team: 'alpha',
  gatewayKeyId: member.record.id,
  inputFileId: `file_record_${name.replace(/-/g, '_')}`,
  endpoint: '/v1/chat/completions',
  completionWindow: '24h',
  windowMs: 24 * 3600_000,
  mode: 'realtime',
  skipInvalidLines: false,
  metadata: null,
  now: new Date(),
});

const outDir = new URL('../fixtures/histories/', import.meta.url);
installRuntime('ERROR');
const scratch = mkdtempSync(join(tmpdir(), 'gg-record-batch-'));
const server = await startDevServer({ dataDir: scratch, port: 17443, uiPort: 18443 });
try {
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  mkdirSync(outDir, { recursive: true });
  const taskQueue = `record-batch-${name}`;
  const worker = await Worker.create({
    connection: workerConnection,
    taskQueue,
    workflowsPath,
    dataConverter: { failureConverterPath },
    activities,
  });
  const workflowId = `record-batchJob-${name}`;
  const handle = await client.workflow.start('batchJob', {
    taskQueue,
    workflowId,
    args: [{ batchId, window, itemsPerRun: 6 }],
  });
  const result = await worker.runUntil(handle.result());
  if ((result as { status: string }).status !== 'completed')
    throw new Error(`batch ended ${JSON.stringify(result)}`);
  const runIds: string[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    runIds.push(run.runId);
  // oldest first: visibility lists the newest run first
  runIds.reverse();
  if (runIds.length < 2) throw new Error(`expected a continue-as-new, got ${runIds.length} run(s)`);
  runIds.forEach((runId, n) => {
    const shown = spawnSync(
      ensureTemporal({ quiet: true }).temporal,
      [
        'workflow',
        'show',
        '--workflow-id',
        workflowId,
        '--run-id',
        runId,
        '--address',
        server.address,
        '--output',
        'json',
      ],
      { encoding: 'utf8' },
    );
    if (shown.status !== 0) throw new Error(`temporal workflow show failed: ${shown.stderr}`);
    const history = JSON.parse(shown.stdout) as { events: unknown[] };
    const file = `batchJob-${name}-run${n + 1}`;
    writeFileSync(new URL(`${file}.json`, outDir), JSON.stringify(history, null, 1) + '\n');
    console.log(`recorded ${file} (${history.events.length} events)`);
  });
  await connection.close();
  await workerConnection.close();
} finally {
  await emulator.close();
  await ledger.close();
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
