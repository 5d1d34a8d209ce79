/**
 * Records the workflow histories that the replay test guards: runs each scenario on a fresh dev server
 * and writes its history to test/fixtures/histories/. Run it when a workflow change is intended:
 *   npx tsx test/support/record-histories.ts [NAME-PREFIX]
 * (only the scenarios whose name starts with NAME-PREFIX, when given), then commit the new files next to the old ones (old histories must keep replaying, or the change
 * needs a patch()).
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { failureConverterPath } from '../../workers/codec';
import { workflowsPath } from '../../workers/worker';
import { admissionUpdate, streamFinishedSignal } from '../../workflows/governed-completion-messages';
import { recoveringUpstream } from './fake-self-check';
import {
  completionRecordingParts,
  showHistory,
  withRecordingServer,
  writeHistory,
} from './history-recording';

// The histories of governedCompletion before its two-step patch (governedCompletion-success,
// -model-refused, -retried-429) were recorded by this script's scenarios under those names; they stay as
// they are and keep replaying through the unpatched branch. So does governedCompletion-stream-steps, a
// stream whose end was two steps (bookStream, checkAlerts), recorded before the stream-finish patch under
// this scenario with that name. The histories named governedCompletion-two-steps-* were recorded by the
// scenarios now named -one-step-*, before the one-step patch: they replay through the two steps; and
// governedCompletion-stream-finish by the scenario now named governedCompletion-one-step-stream.
// governedCompletionV2, the type the gateway starts since the one-step shape, takes today's steps with no
// patch: its scenarios are recorded as governedCompletionV2-*; the governedCompletion scenarios stay, as
// the runs started before it replay through them.
// governed completions run against a real ledger (in memory) and the emulator, with a member key
const parts = await completionRecordingParts();
const { emulator, member } = parts;
const completionActivities = parts.activities;
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
  /** what a caller does while the workflow runs (a streaming gateway's update and signal) */
  drive?: (handle: WorkflowHandle) => Promise<void>;
}

/** A gateway that streams: it learns the admission, then reports a stream that ended with Groq's usage. */
async function streamCompleted(handle: WorkflowHandle): Promise<void> {
  const admission = await handle.executeUpdate(admissionUpdate);
  if (!admission.admitted) throw new Error('the recorded stream was not admitted');
  await handle.signal(streamFinishedSignal, {
    kind: 'completed',
    keyVersion: 1,
    upstreamRequestId: 'req_upstream_recorded_stream',
    usage: { promptTokens: 12, completionTokens: 9, cachedTokens: 0 },
  });
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
    name: 'governedCompletion-one-step-success',
    workflowType: 'governedCompletion',
    args: [completion('req_recordsuccess0000000000000', { max_completion_tokens: 20 })],
    activities: completionActivities,
  },
  {
    name: 'governedCompletion-one-step-model-refused',
    workflowType: 'governedCompletion',
    args: [completion('req_recordrefused0000000000000', { model: 'llama-3.3-70b-versatile' })],
    activities: completionActivities,
  },
  {
    name: 'governedCompletion-one-step-retried-429',
    workflowType: 'governedCompletion',
    args: [completion('req_record429000000000000000000'.slice(0, 30), { max_completion_tokens: 10 })],
    activities: completionActivities,
    before: () => void emulator.injectFault({ kind: 'status', status: 429, retryAfter: 1, count: 1 }),
  },
  {
    name: 'governedCompletion-one-step-stream',
    workflowType: 'governedCompletion',
    args: [{ ...completion('req_recordstreamfinish00000000', { max_completion_tokens: 20 }), stream: true }],
    activities: completionActivities,
    drive: streamCompleted,
  },
  {
    name: 'governedCompletionV2-success',
    workflowType: 'governedCompletionV2',
    args: [completion('req_recordv2success00000000000', { max_completion_tokens: 20 })],
    activities: completionActivities,
  },
  {
    name: 'governedCompletionV2-model-refused',
    workflowType: 'governedCompletionV2',
    args: [completion('req_recordv2refused00000000000', { model: 'llama-3.3-70b-versatile' })],
    activities: completionActivities,
  },
  {
    name: 'governedCompletionV2-retried-429',
    workflowType: 'governedCompletionV2',
    args: [completion('req_recordv2429000000000000000', { max_completion_tokens: 10 })],
    activities: completionActivities,
    before: () => void emulator.injectFault({ kind: 'status', status: 429, retryAfter: 1, count: 1 }),
  },
  {
    name: 'governedCompletionV2-stream',
    workflowType: 'governedCompletionV2',
    args: [{ ...completion('req_recordv2stream000000000000', { max_completion_tokens: 20 }), stream: true }],
    activities: completionActivities,
    drive: streamCompleted,
  },
];

await withRecordingServer(17233, async (server) => {
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  try {
    const only = process.argv[2];
    for (const scenario of scenarios.filter((s) => !only || s.name.startsWith(only))) {
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
      await worker.runUntil(Promise.all([scenario.drive?.(handle), handle.result()]));
      writeHistory(scenario.name, showHistory(server.address, handle.workflowId).history);
    }
  } finally {
    await connection.close();
    await workerConnection.close();
    await parts.close();
  }
});
