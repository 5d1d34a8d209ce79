// The production worker (createGovernorWorker) runs the workflow sandbox in its own thread and keeps the
// SDK's 5 s deadline on each activation: a workflow that never yields blocks this thread until the
// deadline, its task fails as a potential deadlock, and the worker goes on serving other workflows. The
// SDK's promise hook for workflow stack traces is removed unless GOVERNOR_WORKFLOW_STACK_TRACES asks.
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

  async function inThreadWorker(taskQueue: string) {
    return createGovernorWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      activities: {} as Activities,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: fixture, logger: quiet }),
    });
  }

  async function stackTraceOfAWaitingWorkflow(taskQueue: string): Promise<string> {
    const worker = await inThreadWorker(taskQueue);
    return worker.runUntil(async () => {
      const waiting = await env.client.workflow.start('waitAnHour', {
        taskQueue,
        workflowId: `${taskQueue}-wait`,
      });
      try {
        return await waiting.query<string>('__stack_trace');
      } finally {
        await waiting.terminate('test over');
      }
    });
  }

  // first in the file: once a worker of this process removed the hook, the SDK does not install it again
  it('collects workflow stack traces when GOVERNOR_WORKFLOW_STACK_TRACES=1 asks', async () => {
    process.env.GOVERNOR_WORKFLOW_STACK_TRACES = '1';
    try {
      expect(await stackTraceOfAWaitingWorkflow(uniqueTaskQueue('in-thread-traces'))).toMatch(/waitAnHour/);
    } finally {
      delete process.env.GOVERNOR_WORKFLOW_STACK_TRACES;
    }
  });

  it("removes the SDK's promise hook otherwise: the stack trace query says they are not enabled", async () => {
    await expect(stackTraceOfAWaitingWorkflow(uniqueTaskQueue('in-thread-no-traces'))).rejects.toThrow(
      /stack traces are not enabled on this worker/,
    );
  });

  it('blocks this thread until the deadline, fails the task (timed out), then serves on', async () => {
    const taskQueue = uniqueTaskQueue('in-thread');
    const worker = await inThreadWorker(taskQueue);
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
