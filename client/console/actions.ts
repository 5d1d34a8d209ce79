/**
 * The console's changes, each through the code the admin API runs for it, with the signed-in key as
 * the actor (so the audit log names `key:<id>` exactly as for an API call): issueKey and revokeKey (keys),
 * pauseOrResumeBatch and cancelBatch (batches), actOnRotation (rotations). A refusal is answered with its
 * status and reason; nothing is only hidden.
 */
import type { Refusal } from '../../domain/api-errors';
import { refusalStatus } from '../../domain/api-errors';
import { authorize, isRole } from '../../domain/rbac';
import { BatchStore } from '../../ledger/batches';
import { cancelBatch, pauseOrResumeBatch } from '../gateway/batches';
import { GatewayKeyError, issueKey, revokeKey } from '../services/gateway-keys';
import { actOnRotation, RotationError, type RotationAction } from '../services/rotation';
import type { ConsoleContext } from './context';

/** Where to go after an action, or the refusal to show. */
export type Outcome = { ok: true; location: string } | { ok: false; status: number; message: string };

const KEY_STATUS: Record<GatewayKeyError['code'], number> = {
  permission_denied: 403,
  invalid_request: 400,
  key_not_found: 404,
  already_bootstrapped: 400,
};
const ROTATION_STATUS: Record<RotationError['code'], number> = {
  invalid_request: 400,
  already_running: 409,
  not_found: 404,
  refused: 409,
};

function refused(refusal: Refusal): Outcome {
  return { ok: false, status: refusalStatus(refusal.code), message: refusal.message };
}

const teamPage = (team: string | null) =>
  team === null ? '/console/' : `/console/teams/${encodeURIComponent(team)}`;

export async function createKey(
  ctx: ConsoleContext,
  team: string,
  form: Record<string, string>,
): Promise<Outcome> {
  const role = form.role ?? '';
  try {
    const issued = await issueKey(
      ctx.deps.ledger,
      ctx.principal,
      {
        team,
        role: isRole(role) ? role : (role as never),
        ...(form.name ? { name: form.name } : {}),
        ...(form.expires_in?.trim() ? { expiresIn: form.expires_in.trim() } : {}),
      },
      ctx.deps.config(),
    );
    ctx.session.flash = {
      kind: 'ok',
      text: `Key ${issued.record.id} (${issued.record.role}) created for team ${team}.`,
      secret: issued.key,
    };
    return { ok: true, location: teamPage(team) };
  } catch (error) {
    if (error instanceof GatewayKeyError)
      return { ok: false, status: KEY_STATUS[error.code], message: error.message };
    throw error;
  }
}

export async function revoke(ctx: ConsoleContext, keyId: string): Promise<Outcome> {
  try {
    const result = await revokeKey(ctx.deps.ledger, ctx.principal, keyId);
    ctx.deps.authenticator.invalidate(result.record.publicId);
    ctx.session.flash = {
      kind: 'ok',
      text: `Key ${keyId} ${result.changed ? 'revoked' : 'was already revoked'}.`,
    };
    return { ok: true, location: teamPage(result.record.team) };
  } catch (error) {
    if (error instanceof GatewayKeyError)
      return { ok: false, status: KEY_STATUS[error.code], message: error.message };
    throw error;
  }
}

export async function controlBatch(
  ctx: ConsoleContext,
  batchId: string,
  action: 'pause' | 'resume' | 'cancel',
  back: string | undefined,
): Promise<Outcome> {
  let result;
  if (action === 'cancel') {
    const batch = await new BatchStore(ctx.deps.ledger.sql).getBatch(batchId);
    if (!batch) return refused({ code: 'not_found', message: 'No such batch.' });
    result = await cancelBatch(ctx.deps, ctx.principal, batch);
  } else {
    result = await pauseOrResumeBatch(ctx.deps, ctx.principal, batchId, action);
  }
  if (!result.ok) return refused(result.refusal);
  const done = { pause: 'paused', resume: 'resumed', cancel: 'cancelling' }[action];
  ctx.session.flash = { kind: 'ok', text: `Batch ${batchId} ${done}.` };
  return { ok: true, location: back && /^\/console\/[\w/.%-]*$/.test(back) ? back : '/console/batches' };
}

export async function rotationAction(
  ctx: ConsoleContext,
  keyName: string,
  action: RotationAction,
  reason: string | undefined,
): Promise<Outcome> {
  const decision = authorize(ctx.principal, 'rotations.manage');
  if (!decision.allowed) return refused({ code: 'permission_denied', message: decision.reason });
  try {
    await actOnRotation(ctx.deps.temporal, keyName, action, {
      actor: `key:${ctx.principal.keyId}`,
      ...(reason?.trim() ? { reason: reason.trim() } : {}),
    });
    ctx.session.flash = { kind: 'ok', text: `Rotation of ${keyName}: ${action} accepted.` };
    return { ok: true, location: '/console/rotations' };
  } catch (error) {
    if (error instanceof RotationError)
      return { ok: false, status: ROTATION_STATUS[error.code], message: error.message };
    throw error;
  }
}
