// The workflow bundle's entry point: every workflow type the workers register.
export { selfCheck } from './self-check';
export { governedCompletion, governedCompletionV2 } from './governed-completion';
export { weeklyReport } from './weekly-report';
export { keyRotation } from './key-rotation';
export { batchJob } from './batch-job';
export { floorEcho } from './floor-echo';
export { floorWait } from './floor-wait';
export { governedModality } from './governed-modality';
