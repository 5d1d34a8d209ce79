/**
 * The weekly report's Temporal Schedule. Worker start calls `ensureReportSchedule`: it creates the
 * Schedule from the configuration, or updates the one that exists (same id, so never a duplicate),
 * keeping its paused state and notes. `report schedule` shows, pauses, resumes, triggers and backfills it.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSpec,
} from '@temporalio/client';
import type { GovernorConfig } from '../../domain/config';
import { TASK_QUEUES } from '../../domain/task-queues';
import type { weeklyReport } from '../../workflows/weekly-report';

export const REPORT_SCHEDULE_ID = 'weekly-report';
/** scheduled runs get ids `weekly-report-<scheduled time>`; on-demand runs `weekly-report-<week>` */
export const REPORT_WORKFLOW_ID_PREFIX = 'weekly-report';

export interface ReportScheduleParts {
  spec: ScheduleSpec;
  action: ScheduleOptionsStartWorkflowAction<typeof weeklyReport>;
  policies: { overlap: ScheduleOverlapPolicy; catchupWindow: number };
}

export function reportScheduleParts(
  config: GovernorConfig,
  taskQueue: string = TASK_QUEUES.main,
): ReportScheduleParts {
  const { dayOfWeek, hour, minute } = config.reports.schedule;
  return {
    spec: {
      calendars: [{ dayOfWeek, hour, minute, comment: 'weekly usage report' }],
      timezone: config.org.timezone,
    },
    action: {
      type: 'startWorkflow',
      workflowType: 'weeklyReport',
      taskQueue,
      workflowId: REPORT_WORKFLOW_ID_PREFIX,
      args: [{ timeZone: config.org.timezone }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: config.reports.catchupWindowMs },
  };
}

/** Create the Schedule, or bring the existing one in line with the configuration. */
export async function ensureReportSchedule(
  client: Client,
  config: GovernorConfig,
  options: { taskQueue?: string; scheduleId?: string } = {},
): Promise<'created' | 'updated'> {
  const scheduleId = options.scheduleId ?? REPORT_SCHEDULE_ID;
  const parts = reportScheduleParts(config, options.taskQueue);
  try {
    await client.schedule.create({
      scheduleId,
      spec: parts.spec,
      action: parts.action,
      policies: parts.policies,
      state: { note: 'created by a groq-governor worker from the configuration' },
    });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({
    ...previous,
    spec: parts.spec,
    action: parts.action,
    policies: { ...previous.policies, ...parts.policies },
  }));
  return 'updated';
}

/** A short human description of the Schedule, for `report schedule show`. */
export function describeReportSchedule(description: ScheduleDescription): string {
  const calendar = description.spec.calendars?.[0];
  const first = (ranges: readonly { start: unknown }[] | undefined, fallback: unknown) =>
    String(ranges?.[0]?.start ?? fallback);
  const pad = (value: string) => value.padStart(2, '0');
  const when = calendar
    ? `${first(calendar.dayOfWeek, '*')} ${pad(first(calendar.hour, 0))}:${pad(first(calendar.minute, 0))}`
    : 'no calendar';
  const next = description.info.nextActionTimes.slice(0, 3).map((at) => at.toISOString());
  const recent = description.info.recentActions.slice(-3).map((action) => {
    const started = action.action.type === 'startWorkflow' ? action.action.workflow.workflowId : '';
    return `${action.scheduledAt.toISOString()} ${started}`;
  });
  return [
    `schedule ${description.scheduleId}: ${description.state.paused ? 'PAUSED' : 'active'}${description.state.note ? ` (${description.state.note})` : ''}`,
    `  when: ${when} in ${description.spec.timezone ?? 'UTC'}; overlap ${description.policies.overlap}, catch-up window ${description.policies.catchupWindow} ms`,
    `  next: ${next.join(', ') || 'none'}`,
    `  recent: ${recent.join('; ') || 'none'}`,
  ].join('\n');
}
