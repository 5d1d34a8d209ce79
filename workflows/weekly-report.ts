/**
 * `weeklyReport`: the report of one ISO week. The Schedule starts it every week without a `week`, and
 * it reports the week just ended before its scheduled time (in the org's time zone); `report run
 * --week` passes one. It writes the files first, then delivers to every webhook with retries; a
 * delivery that still fails is reported in the result and never fails the workflow or loses the files.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { ReportActivities } from '../activities/reports';
import { weekBefore } from '../domain/reports/iso-week';

export interface WeeklyReportInput {
  /** "2026-W47"; absent: the week before the scheduled (or start) time */
  week?: string;
  /** the org's IANA time zone, used to find the week just ended */
  timeZone: string;
}

export interface WeeklyReportResult {
  week: string;
  directory: string;
  files: string[];
  orgCostNanos: string;
  reconciled: boolean;
  deliveries: { webhook: number; delivered: boolean; error?: string }[];
}

export const SCHEDULED_START_TIME = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

const { writeWeeklyReport } = proxyActivities<ReportActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 5 },
});

/** Deliveries: five attempts over about two and a half minutes (10 s, 20 s, 40 s, 80 s apart). */
export const DELIVERY_RETRY = {
  initialInterval: '10 seconds',
  backoffCoefficient: 2,
  maximumInterval: '5 minutes',
  maximumAttempts: 5,
} as const;

const { deliverWeeklyReport } = proxyActivities<ReportActivities>({
  startToCloseTimeout: '30 seconds',
  retry: DELIVERY_RETRY,
});

/** The time the report is "for": the Schedule's nominal time when started by it, else the start time. */
function reportTime(): Date {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(SCHEDULED_START_TIME);
  return scheduled ?? new Date(Date.now());
}

export async function weeklyReport(input: WeeklyReportInput): Promise<WeeklyReportResult> {
  const week = input.week ?? weekBefore(reportTime(), input.timeZone);
  const written = await writeWeeklyReport({ week });
  const deliveries = await Promise.all(
    Array.from({ length: written.webhooks }, async (_, webhook) => {
      try {
        await deliverWeeklyReport({ webhook, week: written.week, text: written.text, files: written.files });
        return { webhook, delivered: true };
      } catch (error) {
        const cause = error instanceof ActivityFailure ? error.cause : error;
        const message =
          cause instanceof ApplicationFailure || cause instanceof Error ? cause.message : String(cause);
        return { webhook, delivered: false, error: message };
      }
    }),
  );
  return {
    week: written.week,
    directory: written.directory,
    files: written.files,
    orgCostNanos: written.orgCostNanos,
    reconciled: written.reconciled,
    deliveries,
  };
}
