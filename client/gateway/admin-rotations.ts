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
import type { z } from 'zod';
import { check, rotationActionSchema, rotationStartSchema } from '../../domain/admin-requests';
import type { Refusal } from '../../domain/api-errors';
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
import { decodeSegment, sendJson, sendRefusal } from './http';
import { readJsonObject, refuseBody } from './json-body';
import type { GatewayDeps } from './deps';

const STATUS: Record<RotationError['code'], number> = {
  invalid_request: 400,
  already_running: 409,
  not_found: 404,
  refused: 409,
};

/** A body refused by the text rule or its schema: answered as it is, with the field's path. */
class BodyRefused extends Error {
  constructor(readonly refused: { refusal: Refusal; close?: boolean }) {
    super(refused.refusal.message);
  }
}

/** The body as `schema` wants it (an empty body is `{}`); otherwise throws `BodyRefused`. */
async function body<T>(request: IncomingMessage, limit: number, schema: z.ZodType<T>): Promise<T> {
  const read = await readJsonObject(request, limit);
  if (!read.ok) throw new BodyRefused(read);
  const checked = check(schema, read.value);
  if (!checked.ok)
    throw new BodyRefused({
      refusal: { code: 'invalid_request_error', message: checked.message, param: checked.param },
    });
  return checked.value;
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
  const keyName = rawName === undefined ? undefined : decodeSegment(rawName);
  if (rawName !== undefined && keyName === undefined) {
    sendRefusal(response, { code: 'not_found', message: 'No such rotation.' }, headers);
    return true;
  }
  try {
    if (keyName === undefined && method === 'POST') {
      const input = await body(request, limit, rotationStartSchema);
      const window = input.monitor_window;
      const interval = input.check_interval;
      const canaryFor = input.canary_for;
      const version = input.version;
      const canary = input.canary_percent;
      const errorRate = input.error_rate_threshold;
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
      const input = await body(request, limit, rotationActionSchema);
      const reason = input.reason ?? undefined;
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
    if (error instanceof BodyRefused) {
      refuseBody(response, error.refused, headers);
      return true;
    }
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
