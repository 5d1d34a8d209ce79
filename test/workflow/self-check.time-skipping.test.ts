// The smoke workflow on the time-skipping server: durable waits between probes are skipped, not slept.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { SelfCheckResult } from '../../workflows/self-check';
import { recoveringUpstream } from '../support/fake-self-check';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../support/temporal';

describe('selfCheck on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function runSelfCheck(failures: number, maxProbes: number) {
    const taskQueue = uniqueTaskQueue('self-check-ts');
    const upstream = recoveringUpstream(failures);
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: workflowBundle(),
      activities: createActivities(upstream.deps),
    });
    const result: SelfCheckResult = await worker.runUntil(
      env.client.workflow.execute('selfCheck', {
        taskQueue,
        workflowId: `${taskQueue}-wf`,
        args: [{ keyName: 'platform-dev-selfcheck', maxProbes, probeInterval: '10 minutes' }],
      }),
    );
    return { result, calls: upstream.calls };
  }

  it('waits durably between probes until the upstream is ready', async () => {
    const { result, calls } = await runSelfCheck(2, 5);
    expect(result.ledgerSchemaVersion).toBe(7);
    expect(result.upstream).toEqual({ ok: true, models: 1, probes: 3 });
    expect(calls).toEqual(['platform-dev-selfcheck', 'platform-dev-selfcheck', 'platform-dev-selfcheck']);
    // two 10-minute timers fired in workflow time
    expect(result.finishedAt - result.startedAt).toBeGreaterThanOrEqual(20 * 60_000);
  });

  it('gives up after maxProbes and reports why, without throwing', async () => {
    const { result } = await runSelfCheck(10, 2);
    expect(result.upstream.ok).toBe(false);
    expect(result.upstream.probes).toBe(2);
    expect(result.upstream.error).toBe('HTTP 503: upstream not ready');
    expect(result.finishedAt - result.startedAt).toBeGreaterThanOrEqual(10 * 60_000);
  });
});
