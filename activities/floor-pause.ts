/**
 * The local activity of `floorWait` (workflows/floor-wait.ts), the benchmark's floor for a workflow that
 * lives as long as an upstream call: it waits the given time and does nothing else.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** The longest a floor workflow may wait in its activity. */
export const FLOOR_PAUSE_MAX_MS = 10_000;

export function createFloorActivities() {
  return {
    async floorPause(ms: number): Promise<void> {
      if (!Number.isInteger(ms) || ms < 0 || ms > FLOOR_PAUSE_MAX_MS)
        throw new RangeError(
          `floorPause takes whole milliseconds from 0 to ${FLOOR_PAUSE_MAX_MS}, got ${ms}`,
        );
      await delay(ms);
    },
  };
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
