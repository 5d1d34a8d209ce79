// The dev server `startDevServer` runs is configured for many short workflows (DEV_SERVER_DYNAMIC_CONFIG):
// the search attributes' cache is on, so workflows no longer read the cluster's metadata from SQLite, and
// the visibility queue is polled twice a second, so a workflow that completes first gets only its closed
// record. Read from the server's own counters, with the records all still listed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDevServerMetrics } from '../../../bench/overhead-devserver';
import { startDevServer, type RunningDevServer } from '../../../client/services/temporal-dev-server';
import { freePort, freePortPair } from '../../support/ports';
import { workflowBundle } from '../../support/temporal';

const WORKFLOWS = 40;
const TASK_QUEUE = 'dev-server-config';

describe('the dev server startDevServer runs', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gg-devconfig-'));
  let server: RunningDevServer;
  let metricsPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    server = await startDevServer({
      dataDir,
      port: await freePortPair(),
      extraArgs: ['--metrics-port', String(metricsPort)],
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function counters() {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.ok).toBe(true);
    return parseDevServerMetrics(await response.text());
  }

  it('reads no cluster metadata per workflow, skips the start record of a completed one, and lists them all', async () => {
    const connection = await Connection.connect({ address: server.address });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: workflowBundle(),
    });
    const client = new Client({ connection });
    try {
      await worker.runUntil(async () => {
        // one before counting: the caches fill and the visibility queue's poll is spent
        await client.workflow.execute('floorEcho', { taskQueue: TASK_QUEUE, workflowId: 'warm', args: [0] });
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const before = await counters();
        const results = await Promise.all(
          Array.from({ length: WORKFLOWS }, (_, n) =>
            client.workflow.execute('floorEcho', {
              taskQueue: TASK_QUEUE,
              workflowId: `echo-${n}`,
              args: [n],
            }),
          ),
        );
        expect(results).toEqual(Array.from({ length: WORKFLOWS }, (_, n) => n));
        const after = await counters();

        const metadataReads = after.metadataReads - before.metadataReads;
        const startRecords = after.visibilityStartWrites - before.visibilityStartWrites;
        // without the cache: 3-4 reads per workflow (its start, its task's completion, its result)
        expect(metadataReads, `${metadataReads} reads of the cluster's metadata`).toBeLessThan(WORKFLOWS / 4);
        // polled 20 times a second, most of these got a running record first; at twice a second, at most
        // the ones whose task came up in the first poll
        expect(startRecords, `${startRecords} start records of ${WORKFLOWS}`).toBeLessThan(WORKFLOWS / 2);
      });

      // every one is listed, closed, once its closed record is written
      const deadline = Date.now() + 10_000;
      let listed = 0;
      while (Date.now() < deadline) {
        listed = 0;
        for await (const execution of client.workflow.list({
          query: `TaskQueue = '${TASK_QUEUE}' AND ExecutionStatus = 'Completed' AND WorkflowId STARTS_WITH 'echo-'`,
        }))
          listed += execution ? 1 : 0;
        if (listed === WORKFLOWS) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(listed).toBe(WORKFLOWS);
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  }, 120_000);
});
