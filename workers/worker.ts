/**
 * How a Groq Governor worker is put together: which workflows (the bundle of workflows/index.ts), which
 * activities (built by the caller from real dependencies), which task queue.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { TASK_QUEUES } from '../domain/task-queues';
import type { TemporalTarget } from '../client/services/temporal-config';
import type { Activities } from '../activities';
import { failureConverterPath } from './codec/data-converter';
import { stopWorkflowStackTraces, workflowStackTraces } from './workflow-stack-traces';
import { workflowThreadOptions } from './workflow-thread';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface GovernorWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  activities: Activities;
  taskQueue?: string;
  /** a pre-built bundle (tests bundle once); otherwise workflows are bundled at start, in a thread */
  workflowBundle?: { code: string };
  identity?: string;
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /**
   * payload encryption and conversion: `dataConverterFor(...)` from workers/codec (clients must match).
   * Without one, payloads stay plain but failure messages are still encoded (the same failure converter).
   */
  dataConverter?: WorkerOptions['dataConverter'];
}

/**
 * Bundle the workflows (webpack) in a short-lived child process: bundling in the serving process would
 * leave it about 100 MB larger for good (the heap webpack grew stays with the process). The bundle carries
 * the failure converter, so failures raised inside workflows are encoded too (workers/codec).
 */
export async function bundleWorkflowsApart(): Promise<{ code: string }> {
  const entry = createRequire(import.meta.url).resolve('@temporalio/worker');
  const code = `
    const { bundleWorkflowCode } = require(${JSON.stringify(entry)});
    const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    bundleWorkflowCode({ workflowsPath: process.argv[1], failureConverterPath: process.argv[2], logger: quiet }).then(
      (bundle) => process.stdout.write(bundle.code),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', code, workflowsPath, failureConverterPath],
      { maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`bundling the workflows failed: ${stderr || error.message}`));
        else resolve({ code: stdout });
      },
    );
  });
}

/**
 * Slots for many short workflows. A governed completion runs its steps as local activities inside its
 * first workflow task, so the task holds its slot for the whole Groq call: with the SDK's default of 40
 * slots, the 41st request in flight can no longer start eagerly on this worker and goes through the
 * server's matching and a poll instead. Each slot costs only a little memory while it is in use.
 */
export const SHORT_WORKFLOW_SLOTS = {
  maxConcurrentWorkflowTaskExecutions: 256,
  maxConcurrentLocalActivityExecutions: 256,
} as const;

export async function createGovernorWorker(options: GovernorWorkerOptions): Promise<Worker> {
  const thread = workflowThreadOptions();
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUES.main,
    activities: options.activities,
    workflowBundle: options.workflowBundle ?? (await bundleWorkflowsApart()),
    ...(options.identity ? { identity: options.identity } : {}),
    dataConverter: { failureConverterPath, ...options.dataConverter },
    shutdownGraceTime: options.shutdownGraceTime ?? '10 seconds',
    ...SHORT_WORKFLOW_SLOTS,
    ...thread,
  });
  if (thread.debugMode && !workflowStackTraces()) stopWorkflowStackTraces();
  return worker;
}

export async function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect(target.connectionOptions);
}
