/** All activities a worker registers, built from one set of dependencies. */
import { createSelfCheckActivities, type SelfCheckDeps } from './self-check';

export type ActivityDeps = SelfCheckDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
