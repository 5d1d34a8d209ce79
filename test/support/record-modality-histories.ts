/**
 * Records the governedModality histories the replay test guards (a Responses request that succeeds, and
 * one refused by policy), on a fresh dev server, into test/fixtures/histories/. Run it when a change to
 * the workflow is intended:
 *   npx tsx test/support/record-modality-histories.ts
 * Old histories must keep replaying, or the change needs a patched().
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { failureConverterPath } from '../../workers/codec';
import { workflowsPath } from '../../workers/worker';
import {
  completionRecordingParts,
  showHistory,
  withRecordingServer,
  writeHistory,
} from './history-recording';

const parts = await completionRecordingParts();
const responses = (requestId: string, model: string) => ({
  requestId,
  gatewayKeyId: parts.member.record.id,
  model,
  request: {
    endpoint: 'responses',
    body: { model, input: 'Hello', max_output_tokens: 20 },
    tokensEstimate: 8,
  },
  promptTokenBound: 64,
  maxOutputTokens: 20,
  maxWaitMs: 5000,
});

const scenarios = [
  {
    name: 'governedModality-responses',
    args: [responses('req_recordmodality000000000000', 'llama-3.1-8b-instant')],
  },
  {
    name: 'governedModality-model-refused',
    args: [responses('req_recordmodalityrefused00000', 'llama-3.3-70b-versatile')],
  },
];

await withRecordingServer(17243, async (server) => {
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  try {
    for (const scenario of scenarios) {
      const taskQueue = `record-${scenario.name}`;
      const worker = await Worker.create({
        connection: workerConnection,
        taskQueue,
        workflowsPath,
        dataConverter: { failureConverterPath },
        activities: parts.activities,
      });
      const handle = await client.workflow.start('governedModality', {
        taskQueue,
        workflowId: `record-${scenario.name}`,
        args: scenario.args,
      });
      const result = (await worker.runUntil(handle.result())) as { ok: boolean };
      console.log(scenario.name, result.ok ? 'ok' : 'refused');
      writeHistory(scenario.name, showHistory(server.address, handle.workflowId).history);
    }
  } finally {
    await connection.close();
    await workerConnection.close();
    await parts.close();
  }
});
