/**
 * `floorWait`: a workflow that waits in one local activity as long as it is told (the direct call's
 * latency) and returns its input. A governed completion lives as long as its Groq call, and a workflow
 * that is still running when the server's visibility task for its start comes up costs that server a
 * visibility write more than one that has already completed (`floorEcho`). `bench:overhead` runs it
 * beside the floor so that the part of the gap due to the workflow's lifetime is measured apart from
 * governance.
 */
import { proxyLocalActivities } from '@temporalio/workflow';
import type { FloorActivities } from '../activities/floor-pause';

// a wait out of its bound is refused, not retried
const { floorPause } = proxyLocalActivities<FloorActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { nonRetryableErrorTypes: ['RangeError'] },
});

export async function floorWait<T>(input: T, waitMs: number): Promise<T> {
  await floorPause(waitMs);
  return input;
}
