// The dev server keeps its workflows in its SQLite file: a workflow waiting on a durable timer when the
// server stops finishes after the server (and a new worker) come back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../../activities';
import { startDevServer, type RunningDevServer } from '../../../client/services/temporal-dev-server';
import type { SelfCheckResult } from '../../../workflows/self-check';
import { recoveringUpstream } from '../../support/fake-self-check';
import { freePortPair } from '../../support/ports';
import { workflowBundle } from '../../support/temporal';

describe('dev server restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gg-restart-'));
  let server: RunningDevServer | undefined;

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function withWorker<T>(
    upstream: ReturnType<typeof recoveringUpstream>,
    body: (client: Client) => Promise<T>,
  ) {
    const port = Number(server!.address.split(':')[1]);
    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    const nativeConnection = await NativeConnection.connect({ address: `127.0.0.1:${port}` });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: 'restart',
      workflowBundle: workflowBundle(),
      activities: createActivities(upstream.deps),
    });
    try {
      return await worker.runUntil(body(new Client({ connection })));
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  }

  it('finishes a workflow started before the restart', async () => {
    const port = await freePortPair();
    server = await startDevServer({ dataDir, port });
    const upstream = recoveringUpstream(1);
    await withWorker(upstream, async (client) => {
      await client.workflow.start('selfCheck', {
        taskQueue: 'restart',
        workflowId: 'survives-restart',
        args: [{ keyName: 'platform-dev-selfcheck', maxProbes: 3, probeInterval: '4 seconds' }],
      });
      // wait for the first (failed) probe: the workflow is now on its durable timer
      while (upstream.calls.length < 1) await new Promise((resolve) => setTimeout(resolve, 50));
    });
    await server.stop();

    server = await startDevServer({ dataDir, port });
    const result: SelfCheckResult = await withWorker(upstream, (client) =>
      client.workflow.getHandle('survives-restart').result(),
    );
    expect(result.upstream).toEqual({ ok: true, models: 1, probes: 2 });
    expect(upstream.calls).toHaveLength(2);
  });
});
