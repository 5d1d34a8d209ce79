/**
 * `keyRotation`: moves an upstream key name from its active version to a new one without dropping a
 * request, one rotation per key name at a time (workflow id `key-rotation:<name>`, a second start is
 * refused). Steps, each audited:
 *
 *   validate   the new version answers `GET /openai/v1/models` with its own secret
 *   approve    optional: waits for an org-admin's `approve`
 *   canary     optional: a share of new requests goes to the new version for a while
 *   promote    new requests use the new version; in-flight ones finish on the old (now retiring) one
 *   monitor    a durable window (default 24 h) that ends only once it has seen no request on the old
 *              version for its whole length (traffic on it extends the window and alerts); a 401 or an
 *              error rate above the threshold on the new version rolls back and alerts
 *   retire     the old version is revoked and its secret removed; the admin is told to delete it in the
 *              Groq console, and, when configured, the workflow waits for `confirm-deleted`
 *
 * `abort` rolls back at any point before retiring; `skip-monitor` (with a reason) ends the window early.
 * The admin updates only record the request and answer at once; the main flow audits them when it acts
 * on them (an update handler that awaited its own activity hung the time-skipping test server).
 * Only key names and version numbers pass through here; activities resolve secrets.
 */
import {
  allHandlersFinished,
  condition,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { RotationActivities } from '../activities/rotation';
import { trafficDelta, unhealthyReason, type VersionTraffic } from '../domain/key-versions';
import {
  abortUpdate,
  approveUpdate,
  confirmDeletedSignal,
  rotationStatusQuery,
  skipMonitorUpdate,
  type AdminAction,
  type KeyRotationInput,
  type KeyRotationResult,
  type RotationPhase,
  type RotationStatus,
} from './key-rotation-messages';

const act = proxyActivities<RotationActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['RotationRefused'],
  },
});

const HOUR = 3_600_000;
const ABORTABLE: RotationPhase[] = ['preparing', 'validating', 'awaiting-approval', 'canary', 'monitoring'];

export async function keyRotation(input: KeyRotationInput): Promise<KeyRotationResult> {
  const { keyName } = input;
  const windowMs = input.monitorWindowMs ?? 24 * HOUR;
  const intervalMs = Math.min(input.checkIntervalMs ?? 5 * 60_000, windowMs);
  const threshold = input.errorRateThreshold ?? 0.05;
  const minRequests = input.minRequestsForErrorRate ?? 20;
  const startedAt = Date.now();

  const status: RotationStatus = {
    keyName,
    phase: 'preparing',
    oldVersion: null,
    newVersion: null,
    traffic: [],
    timeLeftMs: null,
    idleSince: null,
    windowExtensions: 0,
    reason: null,
  };
  let promotedAt: number | null = null;
  let monitorEndedAt: number | null = null;
  let approvedBy: AdminAction | undefined;
  let abortedBy: AdminAction | undefined;
  let skippedBy: AdminAction | undefined;
  let deletedBy: AdminAction | undefined;
  let baseline: VersionTraffic[] = [];
  // read through functions: the handlers set these while the workflow awaits
  const aborted = (): AdminAction | undefined => abortedBy;
  const skipped = (): AdminAction | undefined => skippedBy;

  const snapshot = (): RotationStatus => ({
    ...status,
    timeLeftMs:
      status.phase === 'monitoring' && status.idleSince !== null
        ? Math.max(0, status.idleSince + windowMs - Date.now())
        : status.timeLeftMs,
  });
  const step = (action: string, actor: string, detail?: Record<string, unknown>) =>
    act.recordRotationStep({ keyName, action, actor, detail: { phase: status.phase, ...detail } });
  // histories from before this marker audited admin updates inside their handlers
  const auditInMainFlow = patched('rotation-admin-updates-audited-by-main-flow');
  const handlerStep = async (action: string, actor: string, detail?: Record<string, unknown>) => {
    if (!auditInMainFlow) await step(action, actor, detail);
  };
  const mainFlowStep = async (action: string, actor: string, detail?: Record<string, unknown>) => {
    if (auditInMainFlow) await step(action, actor, detail);
  };
  const abortRequested = (action: AdminAction) =>
    mainFlowStep('abort-requested', action.actor, { reason: action.reason ?? null });

  setHandler(rotationStatusQuery, snapshot);
  setHandler(
    approveUpdate,
    async (action) => {
      approvedBy = action;
      await handlerStep('approved', action.actor);
      return snapshot();
    },
    {
      validator: (_action: AdminAction) => {
        if (status.phase !== 'awaiting-approval')
          throw new Error(`nothing to approve in phase ${status.phase}`);
      },
    },
  );
  setHandler(
    abortUpdate,
    async (action) => {
      abortedBy ??= action;
      await handlerStep('abort-requested', action.actor, { reason: action.reason ?? null });
      return snapshot();
    },
    {
      validator: (_action: AdminAction) => {
        if (!ABORTABLE.includes(status.phase)) throw new Error(`cannot abort in phase ${status.phase}`);
      },
    },
  );
  setHandler(
    skipMonitorUpdate,
    async (action) => {
      skippedBy ??= action;
      await handlerStep('skip-monitor-requested', action.actor, { reason: action.reason });
      return snapshot();
    },
    {
      validator: (action) => {
        if (!action.reason?.trim()) throw new Error('skip-monitor needs a reason');
        if (status.phase !== 'monitoring') throw new Error(`no monitor to skip in phase ${status.phase}`);
      },
    },
  );
  // a confirmation before the old version is retired confirms nothing: it is ignored
  setHandler(confirmDeletedSignal, (action) => {
    if (status.phase === 'retiring' || status.phase === 'awaiting-deletion') deletedBy ??= action;
  });

  const finish = async (
    outcome: KeyRotationResult['outcome'],
    reason: string | null,
  ): Promise<KeyRotationResult> => {
    status.phase = outcome;
    status.reason = reason;
    status.timeLeftMs = null;
    await step(outcome, 'system:key-rotation', { reason });
    // let an admin action's handler (and its audit entry) finish before the workflow completes
    await condition(allHandlersFinished);
    return { ...snapshot(), outcome, startedAt, promotedAt, monitorEndedAt, finishedAt: Date.now() };
  };

  const refreshTraffic = async () => {
    const { traffic, suspect } = await act.keyTraffic({ keyName });
    status.traffic = [status.oldVersion, status.newVersion]
      .filter((v): v is number => v !== null)
      .map((v) => trafficDelta(traffic, baseline, v));
    return { traffic, suspect };
  };

  const rollBack = async (actor: string, reason: string) => {
    await act.rollbackKeyVersion({ keyName, restore: status.oldVersion!, demote: status.newVersion!, actor });
    await act.alertRotation({
      keyName,
      severity: 'critical',
      message: `Rotation of ${keyName} rolled back to version ${status.oldVersion}: ${reason}`,
    });
  };

  // the new version's health since it started serving; a reason when it must be rolled back
  const newVersionProblem = (traffic: VersionTraffic[], suspect: number[], since: VersionTraffic[]) =>
    unhealthyReason(
      trafficDelta(traffic, since, status.newVersion!),
      suspect.includes(status.newVersion!),
      threshold,
      minRequests,
    );

  // --- prepare and validate
  let plan;
  try {
    plan = await act.prepareRotation({
      keyName,
      ...(input.newVersion !== undefined ? { newVersion: input.newVersion } : {}),
    });
  } catch (error) {
    return finish('failed', error instanceof Error ? messageOf(error) : String(error));
  }
  status.oldVersion = plan.oldVersion;
  status.newVersion = plan.newVersion;
  await step('started', input.actor, {
    runId: workflowInfo().runId,
    oldVersion: plan.oldVersion,
    newVersion: plan.newVersion,
    newFingerprint: plan.newFingerprint,
    monitorWindowMs: windowMs,
    checkIntervalMs: intervalMs,
    canaryPercent: input.canaryPercent ?? 0,
    requireApproval: input.requireApproval ?? false,
  });

  status.phase = 'validating';
  const validation = await act.validateKeyVersion({
    keyName,
    version: plan.newVersion,
    actor: 'system:key-rotation',
  });
  if (!validation.ok) {
    await act.alertRotation({
      keyName,
      severity: 'warning',
      message: `Rotation of ${keyName} stopped: version ${plan.newVersion} failed validation (${validation.error}). Nothing moved.`,
    });
    return finish('failed', `validation failed: ${validation.error}`);
  }
  await step('validated', 'system:key-rotation', { version: plan.newVersion, models: validation.models });

  if (input.requireApproval) {
    status.phase = 'awaiting-approval';
    await condition(() => approvedBy !== undefined || aborted() !== undefined);
  }
  const abort = aborted();
  if (abort) {
    await abortRequested(abort);
    return finish('aborted', abort.reason ?? `aborted by ${abort.actor}`);
  }
  if (approvedBy) await mainFlowStep('approved', approvedBy.actor);

  baseline = (await act.keyTraffic({ keyName })).traffic;

  // --- optional canary: a share of new requests on the new version, watched like the monitor
  if (input.canaryPercent && input.canaryPercent > 0) {
    status.phase = 'canary';
    await act.setCanary({
      keyName,
      version: plan.newVersion,
      percent: input.canaryPercent,
      actor: 'system:key-rotation',
    });
    const canaryEnd = Date.now() + (input.canaryMs ?? HOUR);
    while (Date.now() < canaryEnd) {
      status.timeLeftMs = canaryEnd - Date.now();
      await condition(() => aborted() !== undefined, Math.min(intervalMs, canaryEnd - Date.now()));
      const { traffic, suspect } = await refreshTraffic();
      const problem = newVersionProblem(traffic, suspect, baseline);
      if (aborted() || problem) {
        if (!problem) await abortRequested(aborted()!);
        const reason = problem ?? aborted()?.reason ?? `aborted by ${aborted()!.actor}`;
        await rollBack(aborted()?.actor ?? 'system:key-rotation', reason);
        return finish(problem ? 'rolled-back' : 'aborted', reason);
      }
    }
    status.timeLeftMs = null;
  }

  // --- promote: new requests move to the new version
  await act.promoteKeyVersion({
    keyName,
    oldVersion: plan.oldVersion,
    newVersion: plan.newVersion,
    actor: 'system:key-rotation',
  });
  promotedAt = Date.now();
  status.phase = 'monitoring';
  status.idleSince = promotedAt;
  await step('promoted', 'system:key-rotation', { active: plan.newVersion, retiring: plan.oldVersion });
  const atPromotion = (await refreshTraffic()).traffic;
  let previous = atPromotion;
  let checks = 0;

  // --- monitor: prove the old version idle for a whole window, watch the new one's health
  for (;;) {
    const left = status.idleSince! + windowMs - Date.now();
    if (left <= 0 || skipped() || aborted()) break;
    await condition(() => skipped() !== undefined || aborted() !== undefined, Math.min(intervalMs, left));
    const { traffic, suspect } = await refreshTraffic();
    checks++;
    const problem = newVersionProblem(traffic, suspect, atPromotion);
    if (problem) {
      await rollBack('system:key-rotation', problem);
      return finish('rolled-back', problem);
    }
    if (aborted()) break;
    const old = trafficDelta(traffic, previous, plan.oldVersion);
    previous = traffic;
    if (old.requests > 0) {
      status.idleSince = Date.now();
      status.windowExtensions++;
      await step('window-extended', 'system:key-rotation', { oldVersionRequests: old.requests });
      // requests still in flight at the switch are expected right after it; later traffic is not
      if (checks > 1) {
        await act.alertRotation({
          keyName,
          severity: 'warning',
          message:
            `Rotation of ${keyName}: ${old.requests} request(s) on the retiring version ${plan.oldVersion}; ` +
            `the idle window starts again (${Math.round(windowMs / 60_000)} min).`,
        });
      }
    }
  }
  const abortInMonitor = aborted();
  if (abortInMonitor) {
    await abortRequested(abortInMonitor);
    const reason = abortInMonitor.reason ?? `aborted by ${abortInMonitor.actor}`;
    await rollBack(abortInMonitor.actor, reason);
    return finish('aborted', reason);
  }
  monitorEndedAt = Date.now();
  status.timeLeftMs = null;
  const skip = skipped();
  // from here on, abort and skip-monitor are refused
  if (auditInMainFlow) status.phase = 'retiring';
  if (skip) {
    await mainFlowStep('skip-monitor-requested', skip.actor, { reason: skip.reason });
    await step('monitor-skipped', skip.actor, { reason: skip.reason });
  }

  // --- retire the old version
  status.phase = 'retiring';
  await act.retireKeyVersion({ keyName, version: plan.oldVersion, actor: 'system:key-rotation' });
  await step('retired', 'system:key-rotation', { revoked: plan.oldVersion });
  await act.alertRotation({
    keyName,
    severity: 'info',
    message:
      `Rotation of ${keyName} done: version ${plan.oldVersion} is revoked and no longer served. ` +
      `Delete that key in the Groq console (API Keys)` +
      (input.awaitDeletionConfirmation
        ? `, then confirm with: groq-governor rotate confirm-deleted ${keyName}`
        : '.'),
  });
  if (input.awaitDeletionConfirmation) {
    status.phase = 'awaiting-deletion';
    await condition(() => deletedBy !== undefined);
    await step('deletion-confirmed', deletedBy!.actor);
  }
  return finish('completed', skip ? `monitor skipped by ${skip.actor}: ${skip.reason}` : null);
}

function messageOf(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : error.message;
}
