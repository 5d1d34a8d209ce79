/**
 * `groq-governor report run|backfill|schedule`: weekly usage reports on demand and the Schedule that
 * runs them. The commands start workflows through Temporal (TEMPORAL_* environment, like `worker`), so
 * a worker must be running; `run` waits for the report and prints it as a table.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScheduleOverlapPolicy, WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { ConfigError, loadConfigOrThrow, type GovernorConfig } from '../../../domain/config';
import type { WeeklyReport } from '../../../domain/reports/figures';
import { parseReportJson } from '../../../domain/reports/format';
import { isIsoWeek, shiftWeek, weekBefore, weekBounds, weeksBetween } from '../../../domain/reports/iso-week';
import { renderConsole } from '../../../domain/reports/render-text';
import { TASK_QUEUES } from '../../../domain/task-queues';
import { installRuntime } from '../../../workers/runtime';
import { connectWorker } from '../../../workers/worker';
import type { WeeklyReportResult } from '../../../workflows/weekly-report';
import { clientOn, loadDataConverter } from '../../services/components';
import { resolveDataDir } from '../../services/paths';
import {
  describeReportSchedule,
  ensureReportSchedule,
  REPORT_SCHEDULE_ID,
  REPORT_WORKFLOW_ID_PREFIX,
} from '../../services/report-schedule';
import { resolveTemporalTarget } from '../../services/temporal-config';
import { temporalUiLinks, uiLine, type UiLinks } from '../../services/temporal-ui';
import { parseFlags } from '../args';
import type { CliIO } from '../io';

const USAGE = `usage: groq-governor report <command> [--config FILE] [--data-dir DIR]

  report run [--week 2026-W47]
        write (and deliver) one week's report now and print it; default: the week just ended
  report backfill --from 2026-W40 --to 2026-W45
        run the reports of past weeks, one after another
  report schedule show|pause|resume|trigger
        the weekly Schedule: its state and next runs, pause or resume it, run it now
  report schedule backfill --from 2026-W40 --to 2026-W45
        let the Schedule take its actions for past weeks (each reports the week before its run)
  report schedule sync
        create or update the Schedule from the configuration (workers do this when they start)`;

const FLAGS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  week: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  note: { type: 'string' },
  // another deployment's (or a test's) task queue and Schedule id
  'task-queue': { type: 'string' },
  'schedule-id': { type: 'string' },
} as const;

interface Context {
  config: GovernorConfig;
  taskQueue: string;
  client: Client;
  links: UiLinks;
  close(): Promise<void>;
}

async function connect(
  flags: { config?: string; 'data-dir'?: string; 'task-queue'?: string },
  io: CliIO,
): Promise<Context | undefined> {
  const dataDir = resolveDataDir(flags['data-dir']);
  let config: GovernorConfig;
  try {
    config = (await loadConfigOrThrow(flags.config ?? process.env.GOVERNOR_CONFIG, { dataDir })).config;
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(error.message);
      return undefined;
    }
    throw error;
  }
  installRuntime();
  const target = resolveTemporalTarget();
  const connection = await connectWorker(target);
  const dataConverter = await loadDataConverter(dataDir, () => undefined);
  return {
    config,
    taskQueue: flags['task-queue'] ?? TASK_QUEUES.main,
    client: clientOn(connection, target, dataConverter),
    links: temporalUiLinks(target),
    close: () => connection.close(),
  };
}

function checkWeek(value: string | undefined, name: string, io: CliIO): string | undefined | false {
  if (value === undefined) return undefined;
  if (!isIsoWeek(value)) {
    io.stderr(`--${name} must be an ISO week like 2026-W47, got ${JSON.stringify(value)}`);
    return false;
  }
  return value;
}

async function runWeek(context: Context, week: string, io: CliIO): Promise<boolean> {
  const workflowId = `${REPORT_WORKFLOW_ID_PREFIX}-${week}`;
  for (const line of uiLine(context.links.workflow(workflowId))) io.stdout(line);
  const result: WeeklyReportResult = await context.client.workflow.execute('weeklyReport', {
    taskQueue: context.taskQueue,
    workflowId,
    // a run of this week already in progress is joined, not duplicated
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    args: [{ week, timeZone: context.config.org.timezone }],
  });
  try {
    const report = parseReportJson<WeeklyReport>(
      await readFile(join(result.directory, 'report.json'), 'utf8'),
    );
    io.stdout(renderConsole(report));
  } catch {
    io.stdout(
      `Week ${result.week}: org total ${result.orgCostNanos} nano-dollars (the files are on the worker's machine)`,
    );
  }
  io.stdout(`Files: ${result.directory}`);
  for (const delivery of result.deliveries) {
    io.stdout(
      `Webhook #${delivery.webhook}: ${delivery.delivered ? 'delivered' : `FAILED (${delivery.error ?? 'unknown'})`}`,
    );
  }
  if (!result.reconciled) io.stderr('warning: the teams do not add up to the ledger total; see the report');
  return result.reconciled;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseFlags(argv, FLAGS, USAGE, io);
  if (!parsed) return 2;
  const [command, sub] = parsed.positionals;
  const flags = parsed.values;
  const week = checkWeek(flags.week, 'week', io);
  const from = checkWeek(flags.from, 'from', io);
  const to = checkWeek(flags.to, 'to', io);
  if (week === false || from === false || to === false) return 2;
  const known = command === 'run' || command === 'backfill' || command === 'schedule';
  if (!known) {
    io.stderr(USAGE);
    return 2;
  }
  if ((command === 'backfill' || sub === 'backfill') && (!from || !to)) {
    io.stderr(`backfill needs --from and --to\n${USAGE}`);
    return 2;
  }
  const context = await connect(flags, io);
  if (!context) return 1;
  try {
    if (command === 'run') {
      return (await runWeek(context, week ?? weekBefore(new Date(), context.config.org.timezone), io))
        ? 0
        : 1;
    }
    if (command === 'backfill') {
      let ok = true;
      for (const each of weeksBetween(from!, to!)) ok = (await runWeek(context, each, io)) && ok;
      return ok ? 0 : 1;
    }
    const scheduleId = flags['schedule-id'] ?? REPORT_SCHEDULE_ID;
    const handle = context.client.schedule.getHandle(scheduleId);
    for (const line of uiLine(context.links.schedule(scheduleId))) io.stdout(line);
    switch (sub) {
      case undefined:
      case 'show':
        io.stdout(describeReportSchedule(await handle.describe()));
        return 0;
      case 'pause':
        await handle.pause(flags.note ?? 'paused from the CLI');
        io.stdout(`schedule ${scheduleId} paused`);
        return 0;
      case 'resume':
        await handle.unpause(flags.note ?? 'resumed from the CLI');
        io.stdout(`schedule ${scheduleId} resumed`);
        return 0;
      case 'trigger':
        await handle.trigger();
        io.stdout(`schedule ${scheduleId} triggered: it reports the week just ended`);
        return 0;
      case 'sync':
        io.stdout(
          `schedule ${scheduleId} ${await ensureReportSchedule(context.client, context.config, { taskQueue: context.taskQueue, scheduleId })}`,
        );
        return 0;
      case 'backfill': {
        // a run anywhere in week W+1 reports week W
        const zone = context.config.org.timezone;
        const start = weekBounds(shiftWeek(from!, 1), zone).start;
        const end = weekBounds(shiftWeek(to!, 1), zone).end;
        await handle.backfill({ start, end, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
        io.stdout(
          `schedule ${scheduleId}: backfilling ${from} to ${to} (runs between ${start.toISOString()} and ${end.toISOString()})`,
        );
        return 0;
      }
      default:
        io.stderr(USAGE);
        return 2;
    }
  } catch (error) {
    io.stderr(`report: ${(error as Error).message}`);
    return 1;
  } finally {
    await context.close();
  }
}
