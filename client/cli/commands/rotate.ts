/**
 * `groq-governor rotate start|status|approve|abort|skip-monitor|confirm-deleted NAME`: zero-downtime
 * rotation of an upstream key, run by the `keyRotation` workflow (one at a time per key name). The CLI
 * talks to Temporal (TEMPORAL_ADDRESS etc., the payload codec of the data folder) and acts as the
 * operator; the audit log names it `cli:<os user>`. Nothing printed here contains a secret.
 */
import { parseDurationMs } from '../../../domain/config/duration';
import {
  rotationWorkflowId,
  type KeyRotationInput,
  type RotationStatus,
} from '../../../workflows/key-rotation-messages';
import { loadDataConverter } from '../../services/components';
import { resolveDataDir } from '../../services/paths';
import {
  actOnRotation,
  RotationError,
  rotationStatus,
  startRotation,
  type RotationAction,
} from '../../services/rotation';
import { connectClient, resolveTemporalTarget } from '../../services/temporal-config';
import { temporalUiLinks, uiLine } from '../../services/temporal-ui';
import { parseFlags } from '../args';
import type { CliIO } from '../io';
import { operatorName } from '../operator';

const USAGE = `usage: groq-governor rotate <command> NAME [options]

  rotate start NAME [--version N] [--window 24h] [--check-every 5m] [--canary PCT --canary-for 1h]
                    [--approval] [--confirm-deletion] [--error-rate 0.05] [--no-wait]
        validate the newest next version of NAME (keys upstream add), move new requests to it,
        prove the old version idle for the window, then revoke it
  rotate status NAME                    phase, traffic per version, time left
  rotate approve NAME                   continue after validation (started with --approval)
  rotate abort NAME [--reason TEXT]     roll back to the old version
  rotate skip-monitor NAME --reason TEXT end the idle window now (org-admin)
  rotate confirm-deleted NAME           the old key was deleted in the Groq console

options: --data-dir DIR (the payload codec key), --task-queue Q (default: the workers' main queue),
         Temporal from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE`;

const COMMANDS = ['start', 'status', 'approve', 'abort', 'skip-monitor', 'confirm-deleted'] as const;
type Command = (typeof COMMANDS)[number];

export function formatStatus(status: RotationStatus): string {
  const lines = [
    `Rotation of ${status.keyName}: ${status.phase}`,
    `  versions:  ${status.oldVersion ?? '-'} -> ${status.newVersion ?? '-'}`,
  ];
  for (const t of status.traffic) {
    lines.push(
      `  version ${t.version}: ${t.requests} request(s), ${t.errors} error(s), ${t.unauthorized} 401(s)`,
    );
  }
  if (status.timeLeftMs !== null) lines.push(`  time left: ${Math.ceil(status.timeLeftMs / 60_000)} min`);
  if (status.windowExtensions > 0)
    lines.push(`  window extended ${status.windowExtensions} time(s) by old-version traffic`);
  if (status.reason) lines.push(`  reason:    ${status.reason}`);
  return lines.join('\n');
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || !(COMMANDS as readonly string[]).includes(command)) {
    io.stderr(command ? `groq-governor rotate: unknown command "${command}"\n${USAGE}` : USAGE);
    return 2;
  }
  const parsed = parseFlags(
    rest,
    {
      'data-dir': { type: 'string' },
      version: { type: 'string' },
      window: { type: 'string' },
      'check-every': { type: 'string' },
      canary: { type: 'string' },
      'canary-for': { type: 'string' },
      approval: { type: 'boolean' },
      'confirm-deletion': { type: 'boolean' },
      'error-rate': { type: 'string' },
      'no-wait': { type: 'boolean' },
      reason: { type: 'string' },
      'task-queue': { type: 'string' },
    },
    USAGE,
    io,
  );
  if (!parsed) return 2;
  if (parsed.positionals.length !== 1) {
    io.stderr(`groq-governor rotate ${command}: name exactly one key\n${USAGE}`);
    return 2;
  }
  const keyName = parsed.positionals[0]!;
  const flags = parsed.values;
  const duration = (name: 'window' | 'check-every' | 'canary-for'): number | undefined | null => {
    const text = flags[name];
    if (text === undefined) return undefined;
    const ms = parseDurationMs(text);
    if (ms === null)
      io.stderr(`groq-governor rotate: --${name} ${JSON.stringify(text)} is not a duration (like 24h, 30m)`);
    return ms;
  };

  let input: KeyRotationInput | undefined;
  if (command === 'start') {
    const window = duration('window');
    const every = duration('check-every');
    const canaryFor = duration('canary-for');
    if (window === null || every === null || canaryFor === null) return 2;
    const numbers = { version: flags.version, canary: flags.canary, 'error-rate': flags['error-rate'] };
    for (const [name, text] of Object.entries(numbers)) {
      if (text !== undefined && !Number.isFinite(Number(text))) {
        io.stderr(`groq-governor rotate: --${name} must be a number`);
        return 2;
      }
    }
    input = {
      keyName,
      actor: operatorName(),
      ...(flags.version !== undefined ? { newVersion: Number(flags.version) } : {}),
      ...(window !== undefined ? { monitorWindowMs: window } : {}),
      ...(every !== undefined ? { checkIntervalMs: every } : {}),
      ...(flags.canary !== undefined ? { canaryPercent: Number(flags.canary) } : {}),
      ...(canaryFor !== undefined ? { canaryMs: canaryFor } : {}),
      ...(flags.approval ? { requireApproval: true } : {}),
      ...(flags['confirm-deletion'] ? { awaitDeletionConfirmation: true } : {}),
      ...(flags['error-rate'] !== undefined ? { errorRateThreshold: Number(flags['error-rate']) } : {}),
    };
  }

  const dataDir = resolveDataDir(flags['data-dir']);
  const dataConverter = await loadDataConverter(dataDir, () => undefined);
  const target = resolveTemporalTarget();
  const client = await connectClient(target, dataConverter);
  const link = uiLine(temporalUiLinks(target).workflow(rotationWorkflowId(keyName)));
  try {
    switch (command as Command) {
      case 'start': {
        const taskQueue = flags['task-queue'];
        const handle = await startRotation(client, input!, taskQueue ? { taskQueue } : {});
        io.stdout(`Started the rotation of ${keyName} (workflow ${handle.workflowId}).`);
        for (const line of link) io.stdout(line);
        if (flags['no-wait']) return 0;
        io.stdout('Waiting for validation and promotion (Ctrl-C stops waiting; the rotation goes on)...');
        for (;;) {
          const status = await rotationStatus(client, keyName);
          if (!['preparing', 'validating'].includes(status.phase)) {
            io.stdout(formatStatus(status));
            return status.phase === 'failed' ? 1 : 0;
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      case 'status':
        io.stdout(formatStatus(await rotationStatus(client, keyName)));
        for (const line of link) io.stdout(line);
        return 0;
      default: {
        const status = await actOnRotation(client, keyName, command as RotationAction, {
          actor: operatorName(),
          ...(flags.reason !== undefined ? { reason: flags.reason } : {}),
        });
        io.stdout(`${command}: accepted.\n${formatStatus(status)}`);
        for (const line of link) io.stdout(line);
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof RotationError) {
      io.stderr(`groq-governor rotate ${command}: ${error.message}`);
      return 1;
    }
    if ((error as Error).name === 'WorkflowNotFoundError' || /not found/i.test((error as Error).message)) {
      io.stderr(`groq-governor rotate ${command}: no rotation of ${keyName} was found`);
      return 1;
    }
    throw error;
  } finally {
    await client.connection.close();
  }
}
