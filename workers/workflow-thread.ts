/**
 * Workflows run in this thread, not in a thread of their own. By default the SDK runs the workflow sandbox
 * in a worker thread: a second V8 isolate holding its own copy of the workflow bundle (about 45 MB of RSS
 * at start-up, measured), and every activation crosses to it as a structured-clone message. A governed
 * completion's workflow is short orchestration code (microseconds per activation), so the thread buys it
 * nothing: the SDK's `debugMode` runs the same sandbox (one reused V8 context, `vm` with a deadline) in
 * the worker's own thread. `debugMode` alone would lift the deadline to 49 days; the SDK's 5 s is set
 * again, so a workflow that loops forever still fails its task instead of holding the process. The SDK
 * takes the deadline from the options it is given but does not declare it in `WorkerOptions` ("not
 * exposed at the moment"); test/integration/temporal/in-thread-workflows.test.ts fails if an SDK update
 * stops taking it.
 *
 * In the worker's thread the SDK's promise hook for workflow stack traces would run for every promise of
 * the process; ./workflow-stack-traces.ts removes it. `GOVERNOR_WORKFLOW_THREAD=1` gives the workflows
 * their own thread back (docs/operations.md#worker-memory), so no workflow can hold the thread the
 * activities and the gateway run on: 50-70 MB more, and on the batch benchmark 58.6% of the ceiling
 * instead of 69.4% (docs/benchmarks.md, round 11).
 */
import { envSwitch } from './env-switch';

export const IN_THREAD_WORKFLOWS = {
  debugMode: true,
  isolateExecutionTimeout: '5 seconds',
} as const;

/** The SDK's options for where workflows run, as `GOVERNOR_WORKFLOW_THREAD` asks. */
export function workflowThreadOptions(env: NodeJS.ProcessEnv = process.env): {
  debugMode?: boolean;
  isolateExecutionTimeout?: string;
} {
  const ownThread = envSwitch(
    env,
    'GOVERNOR_WORKFLOW_THREAD',
    'workflows in a thread of their own',
    "in the worker's thread",
  );
  return ownThread ? {} : IN_THREAD_WORKFLOWS;
}
