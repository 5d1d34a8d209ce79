/**
 * Key rotations over the admin HTTP API, for org-admins (`rotations.manage`); the audit log names the
 * acting gateway key as `key:<id>`. Bodies and answers carry key names, versions and phases, never a
 * secret.
 *
 *   POST /admin/rotations                 {key_name, version?, monitor_window?, check_interval?,
 *                                          canary_percent?, canary_for?, require_approval?,
 *                                          await_deletion_confirmation?, error_rate_threshold?}
 *                                         -> 201 status (409 while a rotation of that name runs)
 *   GET  /admin/rotations/{name}          -> status: phase, traffic per version, time left
 *   POST /admin/rotations/{name}/{approve|abort|skip-monitor|confirm-deleted}   {reason?}
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseDurationMs } from '../../domain/config/duration';
import { authorize, type Principal } from '../../domain/rbac';
import type { KeyRotationInput } from '../../workflows/key-rotation-messages';
import {
  actOnRotation,
  ROTATION_ACTIONS,
  RotationError,
  rotationStatus,
  startRotation,
  type RotationAction,
} from '../services/rotation';
import { readBody, sendJson, sendRefusal } from './http';
import type { GatewayDeps } from './server';

const STATUS: Record<RotationError['code'], number> = {
  invalid_request: 400,
  already_running: 409,
  not_found: 404,
  refused: 409,
};

async function body(request: IncomingMessage, limit: number): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed: unknown = JSON.parse((await readBody(request, limit)).toString('utf8') || '{}');
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function durationField(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? parseDurationMs(value) : null;
  if (ms === null || !Number.isFinite(ms) || ms <= 0) {
    throw new RotationError('invalid_request', `${name} must be a duration like "24h" or a number of ms`);
  }
  return ms;
}

function numberField(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new RotationError('invalid_request', `${name} must be a number`);
  return value;
}

/** True when the path was a rotation path (and was answered). */
export async function handleRotationAdmin(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  principal: Principal,
  path: string,
  headers: Record<string, string>,
): Promise<boolean> {
  if (path !== '/admin/rotations' && !path.startsWith('/admin/rotations/')) return false;
  const decision = authorize(principal, 'rotations.manage');
  if (!decision.allowed) {
    sendRefusal(response, { code: 'permission_denied', message: decision.reason }, headers);
    return true;
  }
  const method = request.method ?? 'GET';
  const actor = `key:${principal.keyId}`;
  const limit = deps.config().gateway.maxBodyBytes;
  const [, , , rawName, action, ...extra] = path.split('/');
  const keyName = rawName === undefined ? undefined : decodeURIComponent(rawName);
  try {
    if (keyName === undefined && method === 'POST') {
      const input = await body(request, limit);
      if (!input || typeof input.key_name !== 'string') {
        throw new RotationError('invalid_request', 'send a JSON object with key_name');
      }
      const window = durationField(input.monitor_window, 'monitor_window');
      const interval = durationField(input.check_interval, 'check_interval');
      const canaryFor = durationField(input.canary_for, 'canary_for');
      const version = numberField(input.version, 'version');
      const canary = numberField(input.canary_percent, 'canary_percent');
      const errorRate = numberField(input.error_rate_threshold, 'error_rate_threshold');
      const rotation: KeyRotationInput = {
        keyName: input.key_name,
        actor,
        ...(version !== undefined ? { newVersion: version } : {}),
        ...(window !== undefined ? { monitorWindowMs: window } : {}),
        ...(interval !== undefined ? { checkIntervalMs: interval } : {}),
        ...(canary !== undefined ? { canaryPercent: canary } : {}),
        ...(canaryFor !== undefined ? { canaryMs: canaryFor } : {}),
        ...(input.require_approval === true ? { requireApproval: true } : {}),
        ...(input.await_deletion_confirmation === true ? { awaitDeletionConfirmation: true } : {}),
        ...(errorRate !== undefined ? { errorRateThreshold: errorRate } : {}),
      };
      const handle = await startRotation(deps.temporal, rotation, { taskQueue: deps.taskQueue });
      sendJson(
        response,
        201,
        { workflow_id: handle.workflowId, key_name: rotation.keyName, phase: 'preparing' },
        headers,
      );
      return true;
    }
    if (keyName !== undefined && action === undefined && method === 'GET') {
      sendJson(response, 200, await rotationStatus(deps.temporal, keyName), headers);
      return true;
    }
    if (
      keyName !== undefined &&
      extra.length === 0 &&
      method === 'POST' &&
      ROTATION_ACTIONS.includes(action as RotationAction)
    ) {
      const input = (await body(request, limit)) ?? {};
      const reason = typeof input.reason === 'string' ? input.reason : undefined;
      const status = await actOnRotation(deps.temporal, keyName, action as RotationAction, {
        actor,
        ...(reason !== undefined ? { reason } : {}),
      });
      sendJson(response, 200, status, headers);
      return true;
    }
    sendRefusal(response, { code: 'not_found', message: `Unknown admin path ${method} ${path}` }, headers);
    return true;
  } catch (error) {
    const known =
      error instanceof RotationError
        ? error
        : (error as Error).name === 'WorkflowNotFoundError'
          ? new RotationError('not_found', `no rotation of ${keyName} was found`)
          : undefined;
    if (!known) throw error;
    sendJson(
      response,
      STATUS[known.code],
      { error: { message: known.message, type: 'invalid_request_error', code: known.code } },
      headers,
    );
    return true;
  }
}
