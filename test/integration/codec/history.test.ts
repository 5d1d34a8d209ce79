// Payload encryption on the real dev server: a workflow whose input, activity inputs, activity results
// and result all carry a plaintext marker leaves no trace of it in the stored history (read raw through
// the SDK and through the `temporal` CLI), while a client with the codec reads the right result; a
// worker or client without the codec cannot read such a workflow; the same scan finds the marker when
// encryption is off, so its silence above means something.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../../activities';
import type { SelfCheckDeps } from '../../../activities/self-check';
import { connectClient, type TemporalTarget } from '../../../client/services/temporal-config';
import {
  dataConverterFor,
  ENCODING_ENCRYPTED,
  KEY_FILE_NAME,
  type GovernorDataConverter,
} from '../../../workers/codec';
import { createGovernorWorker } from '../../../workers/worker';
import type { SelfCheckInput, SelfCheckResult } from '../../../workflows/self-check';
import { describeFindings, findForbidden, scanHistories, type HistoryScan } from '../../support/history-scan';
import { devServerEnv, uniqueTaskQueue, workflowBundle } from '../../support/temporal';

const run = promisify(execFile);
const MARKER = `PLAINTEXT-MARKER-${Math.random().toString(36).slice(2, 12)}`;
const KEY_NAME = `team-${MARKER}-key`;

/** An upstream that always refuses, naming the key: the marker flows into every activity result too. */
function refusingUpstream(): { deps: SelfCheckDeps; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    deps: {
      ledgerSchemaVersion: async () => 7,
      listUpstreamModels: async (keyName) => {
        calls.push(keyName);
        throw Object.assign(new Error(`upstream refused ${keyName}`), { status: 503 });
      },
    },
  };
}

const input: SelfCheckInput = { keyName: KEY_NAME, maxProbes: 2, probeInterval: '10 milliseconds' };
const expectedError = `HTTP 503: upstream refused ${KEY_NAME}`;

const CLOSING_EVENTS = new Set(
  ['COMPLETED', 'FAILED', 'TIMED_OUT', 'TERMINATED', 'CANCELED', 'CONTINUED_AS_NEW'].map(
    (end) => `EVENT_TYPE_WORKFLOW_EXECUTION_${end}`,
  ),
);

/** The event types of a history, by name. */
async function eventTypes(client: Client, workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).map(
    (event) => temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? 'unknown',
  );
}

describe('payload encryption on the dev server', () => {
  let env: TestWorkflowEnvironment;
  let dataDir: string;
  let converter: GovernorDataConverter;
  let codecClient: Client;
  let plainClient: Client;
  const workers: Array<{ worker: Worker; running: Promise<void> }> = [];
  const encryptedQueue = uniqueTaskQueue('codec-encrypted');
  const upstream = refusingUpstream();

  async function startWorker(worker: Worker): Promise<void> {
    workers.push({ worker, running: worker.run() });
  }

  beforeAll(async () => {
    env = await devServerEnv();
    dataDir = mkdtempSync(join(tmpdir(), 'gg-codec-int-'));
    // the key file path, as `up` uses on first start
    converter = await dataConverterFor({ dataDir, env: {} });
    const address = inject('temporalDevAddress');
    const target: TemporalTarget = {
      address,
      namespace: 'default',
      connectionOptions: { address },
      configured: true,
    };
    codecClient = await connectClient(target, converter);
    plainClient = env.client;
    await startWorker(
      await createGovernorWorker({
        connection: env.nativeConnection,
        namespace: 'default',
        taskQueue: encryptedQueue,
        workflowBundle: workflowBundle(),
        activities: createActivities(upstream.deps),
        dataConverter: converter,
      }),
    );
  });

  afterAll(async () => {
    for (const { worker } of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.allSettled(workers.map(({ running }) => running));
    await codecClient?.connection.close();
    await env?.teardown();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('created the key file owner-only', () => {
    expect(statSync(join(dataDir, KEY_FILE_NAME)).mode & 0o777).toBe(0o600);
  });

  describe('a workflow run by a worker and a client with the codec', () => {
    const workflowId = `${encryptedQueue}-marker`;
    let result: SelfCheckResult;
    let raw: HistoryScan;

    beforeAll(async () => {
      result = await codecClient.workflow.execute('selfCheck', {
        taskQueue: encryptedQueue,
        workflowId,
        args: [input],
      });
      raw = await scanHistories({ client: plainClient, workflowIds: [workflowId], forbidden: [MARKER] });
    });

    it('runs normally: activities saw the plaintext and the codec client reads the right result', async () => {
      expect(upstream.calls).toEqual([KEY_NAME, KEY_NAME]);
      expect(result.ledgerSchemaVersion).toBe(7);
      expect(result.upstream).toEqual({ ok: false, models: 0, probes: 2, error: expectedError });
      const again: SelfCheckResult = await codecClient.workflow.getHandle(workflowId).result();
      expect(again.upstream.error).toBe(expectedError);
    });

    it('stores every payload encrypted', () => {
      expect(raw.histories).toBe(1);
      // the input, checkLedger's result, two probes' inputs and results, the workflow's result
      expect(raw.payloads.map((payload) => [payload.eventType, payload.encoding])).toEqual(
        [
          'WORKFLOW_EXECUTION_STARTED',
          'ACTIVITY_TASK_COMPLETED',
          'ACTIVITY_TASK_SCHEDULED',
          'ACTIVITY_TASK_COMPLETED',
          'ACTIVITY_TASK_SCHEDULED',
          'ACTIVITY_TASK_COMPLETED',
          'WORKFLOW_EXECUTION_COMPLETED',
        ].map((type) => [`EVENT_TYPE_${type}`, ENCODING_ENCRYPTED]),
      );
    });

    it('leaves the marker nowhere in the raw history (fields, bytes, base64, its JSON)', () => {
      expect(raw.findings, describeFindings(raw.findings)).toEqual([]);
    });

    it('holds the marker in exactly the payloads an authorized reader decodes (the scan can see it)', async () => {
      const decoded = await scanHistories({
        client: plainClient,
        workflowIds: [workflowId],
        forbidden: [MARKER],
        decodeWith: converter.payloadCodecs,
      });
      expect(decoded.undecodable).toEqual([]);
      expect(decoded.findings.every((finding) => finding.form === 'decoded')).toBe(true);
      const where = new Set(decoded.findings.map((finding) => finding.eventType));
      expect([...where].sort()).toEqual(
        [
          'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
          'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
          'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
          'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
        ].sort(),
      );
    });

    it('shows no marker through `temporal workflow show --output json` either', async () => {
      const { stdout } = await run(
        inject('temporalBinaries').temporal,
        [
          'workflow',
          'show',
          '--workflow-id',
          workflowId,
          '--address',
          inject('temporalDevAddress'),
          '--namespace',
          'default',
          '--output',
          'json',
        ],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      const shown: unknown = JSON.parse(stdout);
      expect(stdout).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
      // the CLI prints the encrypted payloads' metadata, base64: "binary/encrypted" is there
      expect(stdout).toContain(Buffer.from(ENCODING_ENCRYPTED).toString('base64'));
      const findings = findForbidden(shown, [MARKER]);
      expect(findings, describeFindings(findings)).toEqual([]);
      expect(stdout).not.toContain(MARKER);
    });

    it('cannot be read by a client without the codec', async () => {
      await expect(plainClient.workflow.getHandle(workflowId).result()).rejects.toThrow(/binary\/encrypted/);
    });
  });

  it('cannot be run by a worker without the codec: its workflow task fails, the input stays encrypted', async () => {
    const taskQueue = uniqueTaskQueue('codec-no-codec-worker');
    const stranger = refusingUpstream();
    await startWorker(
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: workflowBundle(),
        activities: createActivities(stranger.deps),
      }),
    );
    const workflowId = `${taskQueue}-unreadable`;
    const handle = await codecClient.workflow.start('selfCheck', { taskQueue, workflowId, args: [input] });
    try {
      // wait (no clock involved) until the worker has reported a failed workflow task, or the workflow ended
      const settled = (seen: string[]) =>
        seen.includes('EVENT_TYPE_WORKFLOW_TASK_FAILED') || seen.some((type) => CLOSING_EVENTS.has(type));
      let types = await eventTypes(plainClient, workflowId);
      while (!settled(types)) {
        await new Promise((done) => setTimeout(done, 100));
        types = await eventTypes(plainClient, workflowId);
      }
      expect(types).toContain('EVENT_TYPE_WORKFLOW_TASK_FAILED');
      expect(types).not.toContain('EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
      expect(stranger.calls).toEqual([]);
      const history = await plainClient.workflow.getHandle(workflowId).fetchHistory();
      const failed = history.events?.find((event) => event.workflowTaskFailedEventAttributes);
      const taskFailure = failed?.workflowTaskFailedEventAttributes?.failure;
      expect(taskFailure?.message).toBe('Encoded failure');
      // that worker has no codec, so the encoded attributes are plain JSON: they name the reason
      const attributes = defaultPayloadConverter.fromPayload<{ message: string }>(
        taskFailure!.encodedAttributes!,
      );
      expect(attributes.message).toMatch(/binary\/encrypted/);
      const scan = await scanHistories({
        client: plainClient,
        workflowIds: [workflowId],
        forbidden: [MARKER],
      });
      expect(scan.findings, describeFindings(scan.findings)).toEqual([]);
      expect((await handle.describe()).status.name).toBe('RUNNING');
    } finally {
      await handle.terminate('test over').catch(() => undefined); // already closed when the test failed
    }
  });

  it('encrypts failure messages: an activity error quoting the marker is unreadable in history, readable with the codec', async () => {
    const taskQueue = uniqueTaskQueue('codec-failure');
    await startWorker(
      await createGovernorWorker({
        connection: env.nativeConnection,
        namespace: 'default',
        taskQueue,
        workflowBundle: workflowBundle(),
        activities: createActivities({
          ledgerSchemaVersion: () => Promise.reject(new Error(`ledger refused ${MARKER}`)),
          listUpstreamModels: () => Promise.resolve([]),
        }),
        dataConverter: converter,
      }),
    );
    const workflowId = `${taskQueue}-failing`;
    const failure: unknown = await codecClient.workflow
      .execute('selfCheck', { taskQueue, workflowId, args: [input] })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const messages: string[] = [];
    for (let error = failure as Error | undefined; error; error = error.cause as Error | undefined)
      messages.push(error.message);
    expect(messages).toContain(`ledger refused ${MARKER}`);

    const history = await plainClient.workflow.getHandle(workflowId).fetchHistory();
    const activityFailed = history.events?.find((event) => event.activityTaskFailedEventAttributes);
    const stored = activityFailed?.activityTaskFailedEventAttributes?.failure;
    expect(stored?.message).toBe('Encoded failure');
    expect(stored?.encodedAttributes?.metadata?.encoding).toEqual(Buffer.from(ENCODING_ENCRYPTED));
    const scan = await scanHistories({ client: plainClient, workflowIds: [workflowId], forbidden: [MARKER] });
    expect(scan.findings, describeFindings(scan.findings)).toEqual([]);
  });

  it('finds the marker everywhere when the same workflow runs without the codec (the scan is not blind)', async () => {
    const taskQueue = uniqueTaskQueue('codec-plaintext');
    await startWorker(
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: workflowBundle(),
        activities: createActivities(refusingUpstream().deps),
      }),
    );
    const workflowId = `${taskQueue}-plain`;
    const result: SelfCheckResult = await plainClient.workflow.execute('selfCheck', {
      taskQueue,
      workflowId,
      args: [input],
    });
    expect(result.upstream.error).toBe(expectedError);
    const scan = await scanHistories({
      client: plainClient,
      query: `TaskQueue = '${taskQueue}'`,
      forbidden: [MARKER],
    });
    expect(scan.histories).toBe(1);
    expect(scan.payloads.map((payload) => payload.encoding)).toEqual(Array(7).fill('json/plain'));
    const forms = new Set(scan.findings.map((finding) => finding.form));
    expect(forms).toEqual(new Set(['bytes', 'base64']));
    expect(new Set(scan.findings.map((finding) => finding.eventType))).toEqual(
      new Set([
        'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
        'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
        'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
        'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
        undefined, // the history's JSON serialization
      ]),
    );
    const { stdout } = await run(inject('temporalBinaries').temporal, [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--address',
      inject('temporalDevAddress'),
      '--namespace',
      'default',
      '--output',
      'json',
    ]);
    expect(findForbidden(JSON.parse(stdout), [MARKER]).length).toBeGreaterThan(0);
  });
});
