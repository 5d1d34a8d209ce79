/** All activities a worker registers, built from one set of dependencies. */
import { createBatchActivities } from './batch';
import { createCompletionActivities, type CompletionDeps } from './completion';
import { createFloorActivities } from './floor-pause';
import { createModalityActivities, PLAIN_SEALER, type Sealer } from './modalities';
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
  /**
   * seals audio uploads and speech answers stored by reference (the payload codec's keys:
   * workers/codec/blob.ts); absent: stored as they are, like payloads without a codec
   */
  blobs?: Sealer;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
    ...createFloorActivities(),
    ...(deps.completion ? createCompletionActivities(deps.completion) : {}),
    ...(deps.reports ? createReportActivities(deps.reports) : {}),
    ...(deps.rotation ? createRotationActivities(deps.rotation) : {}),
    ...(deps.completion ? createBatchActivities(deps.completion) : {}),
    ...(deps.completion
      ? createModalityActivities({ ...deps.completion, blobs: deps.blobs ?? PLAIN_SEALER })
      : {}),
  };
}

export type Activities = ReturnType<typeof createActivities>;
