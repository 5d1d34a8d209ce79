/** All activities a worker registers, built from one set of dependencies. */
import { createBatchActivities } from './batch';
import { createCompletionActivities, type CompletionDeps } from './completion';
import { createSelfCheckActivities, type SelfCheckDeps } from './self-check';

export interface ActivityDeps extends SelfCheckDeps {
  /** absent in workers (and tests) that run no governed completions */
  completion?: CompletionDeps;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
    ...(deps.completion ? createCompletionActivities(deps.completion) : {}),
    ...(deps.completion ? createBatchActivities(deps.completion) : {}),
  };
}

export type Activities = ReturnType<typeof createActivities>;
