// The benchmark's floor that lives as long as an upstream call: one local activity that waits, then the
// input back, in the same six history events as a governed completion's one-step path.
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFloorActivities, FLOOR_PAUSE_MAX_MS } from '../../activities/floor-pause';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../support/temporal';

describe('floorWait', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('waits in one local activity and returns its input', async () => {
    const taskQueue = uniqueTaskQueue('floor-wait');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: workflowBundle(),
      activities: createFloorActivities(),
    });
    const input = { model: 'llama-3.1-8b-instant', n: 3 };
    const workflowId = `${taskQueue}-wf`;
    const started = performance.now();
    const result = await worker.runUntil(
      env.client.workflow.execute('floorWait', { taskQueue, workflowId, args: [input, 60] }),
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(60);
    expect(result).toEqual(input);
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    expect(events).toHaveLength(6);
    expect(events.filter((event) => event.markerRecordedEventAttributes)).toHaveLength(1);
  });

  it('fails, without retrying, on a wait beyond its bound', async () => {
    const taskQueue = uniqueTaskQueue('floor-wait-bound');
    let calls = 0;
    const { floorPause } = createFloorActivities();
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: workflowBundle(),
      activities: {
        floorPause: (ms: number) => {
          calls += 1;
          return floorPause(ms);
        },
      },
    });
    await expect(
      worker.runUntil(
        env.client.workflow.execute('floorWait', {
          taskQueue,
          workflowId: `${taskQueue}-wf`,
          args: [{}, FLOOR_PAUSE_MAX_MS + 1],
        }),
      ),
    ).rejects.toThrow(WorkflowFailedError);
    expect(calls).toBe(1);
  });

  it('refuses a wait that is not whole milliseconds within its bound', async () => {
    const { floorPause } = createFloorActivities();
    await expect(floorPause(FLOOR_PAUSE_MAX_MS + 1)).rejects.toThrow(RangeError);
    await expect(floorPause(-1)).rejects.toThrow(RangeError);
    await expect(floorPause(1.5)).rejects.toThrow(RangeError);
    await expect(floorPause(0)).resolves.toBeUndefined();
  });
});
