/**
 * How a Groq Governor worker is put together: which workflows (the bundle of workflows/index.ts), which
 * activities (built by the caller from real dependencies), which task queue.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { TASK_QUEUES } from '../domain/task-queues';
import type { TemporalTarget } from '../client/services/temporal-config';
import type { Activities } from '../activities';
import { failureConverterPath } from './codec/data-converter';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface GovernorWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  activities: Activities;
  taskQueue?: string;
  /** a pre-built bundle (tests bundle once); otherwise workflows are bundled at start */
  workflowBundle?: { code: string };
  identity?: string;
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /**
   * payload encryption and conversion: `dataConverterFor(...)` from workers/codec (clients must match).
   * Without one, payloads stay plain but failure messages are still encoded (the same failure converter).
   */
  dataConverter?: WorkerOptions['dataConverter'];
}

export async function createGovernorWorker(options: GovernorWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUES.main,
    activities: options.activities,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    ...(options.identity ? { identity: options.identity } : {}),
    dataConverter: { failureConverterPath, ...options.dataConverter },
    shutdownGraceTime: options.shutdownGraceTime ?? '10 seconds',
  });
}

export async function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect(target.connectionOptions);
}
