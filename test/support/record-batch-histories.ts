/**
 * Records `batchJob` histories for the replay test: a realtime batch of 8 lines with a window of 8
 * (chunks of 2 items) and 6 items per run, so it continues as new once; both runs are written
 * (`batchJob-<name>-run1.json`, `-run2.json`). `batchJob-per-item-*` were recorded with a window of 4.
 * A ledger in memory, the emulator and a fresh dev server. Run it when the batch workflow changes on
 * purpose, naming the recording after the code that made it:
 *   npx tsx test/support/record-batch-histories.ts <name> [window]
 * and commit the new files next to the old ones (old histories must keep replaying).
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { BatchStore } from '../../ledger/batches';
import { failureConverterPath } from '../../workers/codec';
import { workflowsPath } from '../../workers/worker';
import {
  completionRecordingParts,
  showHistory,
  withRecordingServer,
  writeHistory,
} from './history-recording';

const name = process.argv[2];
const window = Number(process.argv[3] ?? 8);
if (!name || !/^[a-z0-9-]+$/.test(name)) throw new Error('usage: record-batch-histories.ts <name>');

const parts = await completionRecordingParts();
const { ledger, member, activities } = parts;

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

await withRecordingServer(17443, async (server) => {
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  try {
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
    runIds.forEach((runId, n) =>
      writeHistory(`batchJob-${name}-run${n + 1}`, showHistory(server.address, workflowId, runId).history),
    );
  } finally {
    await connection.close();
    await workerConnection.close();
    await parts.close();
  }
});
