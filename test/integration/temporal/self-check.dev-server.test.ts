// The smoke workflow on the real dev server with real dependencies: the ledger (PGlite) and the Groq
// emulator through the official groq-sdk. Then every history it wrote replays against today's code.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../../activities';
import { createGroqClientFactory } from '../../../activities/groq-client';
import { staticKeyResolver } from '../../../activities/upstream-keys';
import { startEmulator, type RunningEmulator } from '../../../emulator';
import { openLedger, type LedgerStore } from '../../../ledger';
import { activityDeps } from '../../../workers/dependencies';
import type { SelfCheckResult } from '../../../workflows/self-check';
import { devServerEnv, uniqueTaskQueue, workflowBundle } from '../../support/temporal';

const KEY = 'platform-dev-selfcheck';

describe('selfCheck on the dev server with the ledger and the emulator', () => {
  let env: TestWorkflowEnvironment;
  let ledger: LedgerStore;
  let emulator: RunningEmulator;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = uniqueTaskQueue('self-check-dev');

  beforeAll(async () => {
    env = await devServerEnv();
    ledger = await openLedger({ inMemory: true });
    emulator = await startEmulator({ keys: [{ name: KEY }] });
    const groq = createGroqClientFactory({
      baseURL: emulator.url,
      resolver: staticKeyResolver(new Map(Object.entries(emulator.addedKeys))),
    });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: workflowBundle(),
      activities: createActivities(activityDeps({ ledger, groq })),
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await emulator?.close();
    await ledger?.close();
    await env?.teardown();
  });

  function selfCheck(id: string, maxProbes: number): Promise<SelfCheckResult> {
    return env.client.workflow.execute('selfCheck', {
      taskQueue,
      workflowId: `${taskQueue}-${id}`,
      args: [{ keyName: KEY, maxProbes, probeInterval: '100 milliseconds' }],
    });
  }

  it('reads the schema version and lists the emulator models with the named key', async () => {
    const result = await selfCheck('healthy', 3);
    expect(result.ledgerSchemaVersion).toBe(ledger.migrations.current);
    expect(result.ledgerSchemaVersion).toBeGreaterThan(0);
    expect(result.upstream).toEqual({ ok: true, models: emulator.config.models.length, probes: 1 });
    expect(emulator.requestCount(KEY)).toBe(1);
  });

  it('reports a revoked upstream key as a 401 after its probes', async () => {
    expect(emulator.revokeKey(KEY)).toBe(true);
    const result = await selfCheck('revoked', 2);
    expect(result.upstream.ok).toBe(false);
    expect(result.upstream.probes).toBe(2);
    expect(result.upstream.error).toMatch(/^HTTP 401: /);
    expect(result.upstream.error).not.toMatch(/gsk_/);
  });

  it('replays the histories it just wrote', async () => {
    const histories = env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` }).intoHistories();
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: workflowBundle() }, histories)) {
      results.push(result);
    }
    expect(results).toHaveLength(2);
    expect(results.map((result) => result.error)).toEqual([undefined, undefined]);
  });
});
