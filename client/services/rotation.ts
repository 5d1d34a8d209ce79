/**
 * Starting and steering key rotations from the CLI and the admin API. One rotation per key name at a
 * time: the workflow id is `key-rotation:<name>` and a start while one runs is refused (conflict policy
 * FAIL); a finished rotation's id may be used again.
 */
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { keyNameProblem } from '../../domain/keyName';
import { TASK_QUEUES } from '../../domain/task-queues';
import type { keyRotation } from '../../workflows/key-rotation';
import {
  abortUpdate,
  approveUpdate,
  confirmDeletedSignal,
  rotationStatusQuery,
  rotationWorkflowId,
  skipMonitorUpdate,
  type AdminAction,
  type KeyRotationInput,
  type RotationStatus,
} from '../../workflows/key-rotation-messages';

export class RotationError extends Error {
  constructor(
    readonly code: 'invalid_request' | 'already_running' | 'not_found' | 'refused',
    message: string,
  ) {
    super(message);
    this.name = 'RotationError';
  }
}

/** The shortest window: every process's resolver cache (at most 5 s) must expire well inside it. */
export const MIN_MONITOR_WINDOW_MS = 1000;

export async function startRotation(
  client: Client,
  input: KeyRotationInput,
  options: { taskQueue?: string } = {},
): Promise<WorkflowHandle<typeof keyRotation>> {
  const problem = keyNameProblem(input.keyName);
  if (problem) throw new RotationError('invalid_request', problem);
  if (input.monitorWindowMs !== undefined && !(input.monitorWindowMs >= MIN_MONITOR_WINDOW_MS)) {
    throw new RotationError(
      'invalid_request',
      `the monitor window must be at least ${MIN_MONITOR_WINDOW_MS} ms`,
    );
  }
  if (
    input.canaryPercent !== undefined &&
    !(Number.isInteger(input.canaryPercent) && input.canaryPercent >= 0 && input.canaryPercent < 100)
  ) {
    throw new RotationError('invalid_request', 'the canary share is a whole percent from 0 to 99');
  }
  if (
    input.errorRateThreshold !== undefined &&
    !(input.errorRateThreshold >= 0 && input.errorRateThreshold <= 1)
  ) {
    throw new RotationError('invalid_request', 'the error rate threshold is a fraction from 0 to 1');
  }
  try {
    return await client.workflow.start<typeof keyRotation>('keyRotation', {
      taskQueue: options.taskQueue ?? TASK_QUEUES.main,
      workflowId: rotationWorkflowId(input.keyName),
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      args: [input],
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      throw new RotationError('already_running', `a rotation of ${input.keyName} is already running`);
    }
    throw error;
  }
}

export function rotationHandle(client: Client, keyName: string): WorkflowHandle<typeof keyRotation> {
  return client.workflow.getHandle<typeof keyRotation>(rotationWorkflowId(keyName));
}

export async function rotationStatus(client: Client, keyName: string): Promise<RotationStatus> {
  return rotationHandle(client, keyName).query(rotationStatusQuery);
}

export type RotationAction = 'approve' | 'abort' | 'skip-monitor' | 'confirm-deleted';

export const ROTATION_ACTIONS: readonly RotationAction[] = [
  'approve',
  'abort',
  'skip-monitor',
  'confirm-deleted',
];

/** An admin action on the running rotation of `keyName`; the workflow refuses one that does not fit its phase. */
export async function actOnRotation(
  client: Client,
  keyName: string,
  action: RotationAction,
  admin: AdminAction,
): Promise<RotationStatus> {
  const handle = rotationHandle(client, keyName);
  if (action === 'skip-monitor' && !admin.reason?.trim()) {
    throw new RotationError('invalid_request', 'skip-monitor needs a reason');
  }
  try {
    switch (action) {
      case 'approve':
        return await handle.executeUpdate(approveUpdate, { args: [admin] });
      case 'abort':
        return await handle.executeUpdate(abortUpdate, { args: [admin] });
      case 'skip-monitor':
        return await handle.executeUpdate(skipMonitorUpdate, { args: [admin] });
      case 'confirm-deleted': {
        const before = await handle.query(rotationStatusQuery);
        if (before.phase !== 'awaiting-deletion') {
          throw new RotationError('refused', `nothing to confirm in phase ${before.phase}`);
        }
        await handle.signal(confirmDeletedSignal, admin);
        return await handle.query(rotationStatusQuery);
      }
    }
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'WorkflowNotFoundError')
      throw new RotationError('not_found', `no rotation of ${keyName} is running`);
    if (name === 'WorkflowUpdateFailedError') {
      const cause = (error as { cause?: Error }).cause;
      throw new RotationError('refused', cause?.message ?? (error as Error).message);
    }
    throw error;
  }
}
