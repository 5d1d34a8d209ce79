// The report Schedule on the real dev server: created from the configuration, updated in place (same
// id, paused state kept), triggered, and backfilled for a past Monday, which reports the week before it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScheduleOverlapPolicy, type ScheduleHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogger } from '../../../activities/alerts';
import { createReportActivities } from '../../../activities/reports';
import { parseConfig, type GovernorConfig } from '../../../domain/config';
import { openLedger, type LedgerStore } from '../../../ledger';
import { ensureReportSchedule } from '../../../client/services/report-schedule';
import type { WeeklyReportResult } from '../../../workflows/weekly-report';
import { REPORT_WEEK, reportConfigText, seedReportLedger } from '../../support/report-seed';
import { devServerEnv, uniqueTaskQueue, workflowBundle } from '../../support/temporal';

function configWith(directory: string, schedule: string): GovernorConfig {
  const text = reportConfigText({ directory }).replace(/^reports:\n/m, `reports:\n${schedule}\n`);
  const parsed = parseConfig(
    text.includes('reports:') ? text : `${text}reports:\n${schedule}\n`,
    'schedule test',
  );
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return parsed.config;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the weekly report Schedule on the dev server', () => {
  let env: TestWorkflowEnvironment;
  let ledger: LedgerStore;
  let directory: string;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = uniqueTaskQueue('report-schedule');
  const scheduleId = `weekly-report-test-${taskQueue}`;
  let handle: ScheduleHandle;

  beforeAll(async () => {
    env = await devServerEnv();
    ledger = await openLedger({ inMemory: true });
    await seedReportLedger(ledger);
    directory = await mkdtemp(join(tmpdir(), 'gg-report-schedule-'));
    const config = configWith(directory, '');
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: workflowBundle(),
      activities: createReportActivities({ ledger, config: () => config, log: consoleLogger, now: Date.now }),
    });
    running = worker.run();
    handle = env.client.schedule.getHandle(scheduleId);
  });
  afterAll(async () => {
    await handle?.delete().catch(() => undefined);
    worker?.shutdown();
    await running;
    await ledger?.close();
    await env?.teardown();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('is created from the configuration: Monday 09:00 in the org zone, overlap skip, a catch-up window', async () => {
    const outcome = await ensureReportSchedule(env.client, configWith(directory, ''), {
      taskQueue,
      scheduleId,
    });
    expect(outcome).toBe('created');
    const description = await handle.describe();
    expect(description.spec.timezone).toBe('Europe/Berlin');
    expect(description.spec.calendars).toEqual([
      expect.objectContaining({
        dayOfWeek: [{ start: 'MONDAY', end: 'MONDAY', step: 1 }],
        hour: [{ start: 9, end: 9, step: 1 }],
        minute: [{ start: 0, end: 0, step: 1 }],
      }),
    ]);
    expect(description.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(description.policies.catchupWindow).toBe(86_400_000);
    expect(description.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'weeklyReport',
      taskQueue,
    });
    expect(description.action.type === 'startWorkflow' && description.action.args).toEqual([
      { timeZone: 'Europe/Berlin' },
    ]);
    // every next run is a Monday at 09:00 Berlin time
    for (const at of description.info.nextActionTimes) {
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        weekday: 'long',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(at);
      expect(local).toBe('Monday 09:00');
    }
  });

  it('is updated in place, not duplicated, and keeps its paused state', async () => {
    await handle.pause('paused by the test');
    const changed = configWith(
      directory,
      '  schedule: { dayOfWeek: TUESDAY, hour: 7, minute: 30 }\n  catchupWindow: 2 hours',
    );
    expect(await ensureReportSchedule(env.client, changed, { taskQueue, scheduleId })).toBe('updated');
    expect(await ensureReportSchedule(env.client, changed, { taskQueue, scheduleId })).toBe('updated');
    const description = await handle.describe();
    expect(description.spec.calendars?.[0]).toMatchObject({
      dayOfWeek: [{ start: 'TUESDAY', end: 'TUESDAY', step: 1 }],
      hour: [{ start: 7, end: 7, step: 1 }],
      minute: [{ start: 30, end: 30, step: 1 }],
    });
    expect(description.spec.calendars).toHaveLength(1);
    expect(description.policies.catchupWindow).toBe(7_200_000);
    expect(description.state.paused).toBe(true);
    expect(description.state.note).toBe('paused by the test');
    // listed once (the list is eventually consistent: wait until it shows the Schedule at all)
    const ids = await waitFor('the Schedule in the list', async () => {
      const found: string[] = [];
      for await (const schedule of env.client.schedule.list()) {
        if (schedule.scheduleId.startsWith('weekly-report-test-') && schedule.scheduleId.endsWith(taskQueue))
          found.push(schedule.scheduleId);
      }
      return found.length > 0 ? found : undefined;
    });
    expect(ids).toEqual([scheduleId]);
    await handle.unpause('resumed by the test');
    expect((await handle.describe()).state.paused).toBe(false);
  });

  it('backfills a past Monday: the run reports the ISO week just ended before it', async () => {
    await ensureReportSchedule(env.client, configWith(directory, ''), { taskQueue, scheduleId });
    // Monday 23 Nov 2026 09:00 Berlin is 08:00Z
    await handle.backfill({
      start: new Date('2026-11-23T07:30:00Z'),
      end: new Date('2026-11-23T08:30:00Z'),
      overlap: ScheduleOverlapPolicy.ALLOW_ALL,
    });
    const workflowId = await waitFor('the backfilled run', async () => {
      const actions = (await handle.describe()).info.recentActions;
      const backfilled = actions.find((a) => a.scheduledAt.toISOString() === '2026-11-23T08:00:00.000Z');
      return backfilled?.action.type === 'startWorkflow' ? backfilled.action.workflow.workflowId : undefined;
    });
    const result: WeeklyReportResult = await env.client.workflow.getHandle(workflowId).result();
    expect(result.week).toBe(REPORT_WEEK);
    expect(result.orgCostNanos).toBe('1720016');
    const json = JSON.parse(await readFile(join(directory, REPORT_WEEK, 'report.json'), 'utf8')) as {
      week: string;
    };
    expect(json.week).toBe(REPORT_WEEK);
  });

  it('runs on demand when triggered', async () => {
    const before = (await handle.describe()).info.numActionsTaken;
    await handle.trigger();
    const workflowId = await waitFor('the triggered run', async () => {
      const description = await handle.describe();
      if (description.info.numActionsTaken <= before) return undefined;
      const last = description.info.recentActions.at(-1);
      return last?.action.type === 'startWorkflow' ? last.action.workflow.workflowId : undefined;
    });
    const result: WeeklyReportResult = await env.client.workflow.getHandle(workflowId).result();
    expect(result.week).toMatch(/^\d{4}-W\d{2}$/);
    expect(result.reconciled).toBe(true);
    expect(result.files.every((file) => file.startsWith(join(directory, result.week)))).toBe(true);
  });
});
