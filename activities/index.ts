/** All activities a worker registers, built from one set of dependencies. */
import { createBatchActivities } from './batch';
import { createCompletionActivities, type CompletionDeps } from './completion';
import { createReportActivities, type ReportDeps } from './reports';
import { createRotationActivities, type RotationDeps } from './rotation';
import { createSelfCheckActivities, type SelfCheckDeps } from './self-check';

export interface ActivityDeps extends SelfCheckDeps {
  /** absent in workers (and tests) that run no governed completions */
  completion?: CompletionDeps;
  /** absent in workers (and tests) that write no weekly reports */
  reports?: ReportDeps;
  /** absent in workers (and tests) that run no key rotations */
  rotation?: RotationDeps;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
    ...(deps.completion ? createCompletionActivities(deps.completion) : {}),
    ...(deps.reports ? createReportActivities(deps.reports) : {}),
    ...(deps.rotation ? createRotationActivities(deps.rotation) : {}),
    ...(deps.completion ? createBatchActivities(deps.completion) : {}),
  };
}

export type Activities = ReturnType<typeof createActivities>;
