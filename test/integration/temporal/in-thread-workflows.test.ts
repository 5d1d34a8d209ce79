// The production worker (createGovernorWorker) runs the workflow sandbox in its own thread and keeps the
// SDK's 5 s deadline on each activation: a workflow that never yields blocks this thread until the
// deadline, its task fails as a potential deadlock, and the worker goes on serving other workflows.
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../../activities';
import { createGovernorWorker } from '../../../workers/worker';
import { devServerEnv, uniqueTaskQueue } from '../../support/temporal';

const fixture = fileURLToPath(new URL('../../fixtures/workflows/in-thread.ts', import.meta.url));
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

describe('workflows in the worker thread', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await devServerEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('blocks this thread until the deadline, fails the task (timed out), then serves on', async () => {
    const taskQueue = uniqueTaskQueue('in-thread');
    const worker = await createGovernorWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      activities: {} as Activities,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: fixture, logger: quiet }),
    });
    // the longest pause of this thread's event loop while the spinning workflow runs
    let last = Date.now();
    let longestPause = 0;
    const ticker = setInterval(() => {
      const now = Date.now();
      longestPause = Math.max(longestPause, now - last);
      last = now;
    }, 20);
    try {
      await worker.runUntil(async () => {
        const spinning = await env.client.workflow.start('spinForever', {
          taskQueue,
          workflowId: `${taskQueue}-spin`,
        });
        let failure: string | undefined;
        while (failure === undefined) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          const { events } = await spinning.fetchHistory();
          const failed = events?.find((event) => event.workflowTaskFailedEventAttributes);
          failure = failed?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
        }
        await spinning.terminate('test over');
        expect(failure).toMatch(/timed out after 5000ms|deadlock/i);
        // the same worker, the same thread, still runs workflows
        const answer = await env.client.workflow.execute('echo', {
          taskQueue,
          workflowId: `${taskQueue}-echo`,
          args: ['still here'],
        });
        expect(answer).toBe('still here');
      });
    } finally {
      clearInterval(ticker);
    }
    // in a workflow thread of its own the spin would not have paused this thread at all
    expect(longestPause).toBeGreaterThanOrEqual(4_000);
    expect(longestPause).toBeLessThan(60_000);
  }, 90_000);
});
