/**
 * Workflow stack traces (the `__stack_trace` query behind the Temporal Web UI's "Stack Trace" tab) are
 * off in a worker that runs its workflows in the worker's own thread (./workflow-thread.ts, the default
 * here). The SDK collects them with a V8 promise hook
 * that it installs for the whole isolate: in a workflow thread of its own that thread's promises are all
 * workflow promises, but in the worker's thread the hook runs for every promise of the process (the
 * gateway's HTTP, the ledger's queries, gRPC), builds a function from source text for each to find its
 * workflow, and captures a source-mapped stack trace for each workflow promise. In `bench:overhead` that
 * cost 2.2 ms of this process's CPU per governed completion (10.7 ms with the hook, 8.5 without,
 * docs/benchmarks.md, round 11).
 *
 * `GOVERNOR_WORKFLOW_STACK_TRACES=1` keeps the hook for a worker being debugged. Without it the query
 * answers "Workflow stack traces are not enabled on this worker", as on a runtime without promise hooks.
 * The SDK does not expose the switch: test/integration/temporal/in-thread-workflows.test.ts fails if an
 * SDK update moves it.
 */
import { globalHandlers } from '@temporalio/worker/lib/workflow/vm-shared.js';
import { envSwitch } from './env-switch';

/** Whether `GOVERNOR_WORKFLOW_STACK_TRACES` asks for stack traces of workflows run in the worker's thread. */
export function workflowStackTraces(env: NodeJS.ProcessEnv = process.env): boolean {
  return envSwitch(env, 'GOVERNOR_WORKFLOW_STACK_TRACES', 'collect them', 'not');
}

/**
 * Removes the SDK's promise hook from this thread; workflows created afterwards answer the stack trace
 * query with an error. Call it after `Worker.create` (which installs the hook, once per process).
 */
export function stopWorkflowStackTraces(): void {
  const handlers = globalHandlers as unknown as { stopPromiseHook(): void; promiseHookInstalled: boolean };
  handlers.stopPromiseHook();
  handlers.promiseHookInstalled = false;
}
