/**
 * Weekly report activities: compute the week's figures from the ledger and write the files (Markdown,
 * CSV, JSON, HTML) into the reports folder, then deliver a Slack-compatible message to each webhook.
 * Files are written before any delivery, so a failing webhook never loses the report. Webhook URLs
 * (which often carry a token) stay in the configuration: workflows pass only their index.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { GovernorConfig } from '../domain/config';
import { toJson } from '../domain/reports/format';
import { isIsoWeek } from '../domain/reports/iso-week';
import { renderHtml } from '../domain/reports/render-html';
import { renderCsv, renderKeysCsv, renderMarkdown, renderSlackText } from '../domain/reports/render-text';
import { loadWeeklyReport } from '../ledger/reports';
import type { SqlQueryable } from '../ledger';
import type { Logger } from './alerts';

export interface ReportDeps {
  ledger: { sql: SqlQueryable };
  config: () => GovernorConfig;
  log: Logger;
  now: () => number;
  fetch?: typeof fetch;
  /** per attempt (Temporal retries the activity) */
  webhookTimeoutMs?: number;
}

export interface WrittenReport {
  week: string;
  directory: string;
  files: string[];
  /** the message for webhooks */
  text: string;
  orgCostNanos: string;
  reconciled: boolean;
  webhooks: number;
}

export const REPORT_FILES = ['report.md', 'report.csv', 'keys.csv', 'report.json', 'report.html'] as const;

/** The folder of one week's files. */
export function weekDirectory(reportsDir: string, week: string): string {
  return join(reportsDir, week);
}

/** Write a file by renaming a finished temporary file over it, so readers never see half a report. */
async function replaceFile(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, content, 'utf8');
  await rename(temporary, path);
}

export async function writeWeeklyReport(deps: ReportDeps, input: { week: string }): Promise<WrittenReport> {
  if (!isIsoWeek(input.week)) {
    throw ApplicationFailure.nonRetryable(`not an ISO week: ${JSON.stringify(input.week)}`, 'InvalidWeek');
  }
  const config = deps.config();
  const report = await loadWeeklyReport(deps.ledger.sql, config, input.week, new Date(deps.now()));
  const directory = weekDirectory(config.reports.directory, report.week);
  await mkdir(directory, { recursive: true });
  const contents: Record<(typeof REPORT_FILES)[number], string> = {
    'report.md': renderMarkdown(report),
    'report.csv': renderCsv(report),
    'keys.csv': renderKeysCsv(report),
    'report.json': toJson(report),
    'report.html': renderHtml(report),
  };
  const files: string[] = [];
  for (const name of REPORT_FILES) {
    const path = join(directory, name);
    await replaceFile(path, contents[name]);
    files.push(path);
  }
  deps.log.info('weekly report written', {
    week: report.week,
    directory,
    orgCostNanos: report.org.totals.costNanos.toString(),
    reconciled: report.reconciliation.matches,
  });
  return {
    week: report.week,
    directory,
    files,
    text: renderSlackText(report),
    orgCostNanos: report.org.totals.costNanos.toString(),
    reconciled: report.reconciliation.matches,
    webhooks: config.reports.webhooks.length,
  };
}

/** A Slack-compatible body: `text` for Slack, the structured bits for other receivers. */
export function webhookBody(input: { week: string; text: string; files: string[] }): string {
  return JSON.stringify({ text: input.text, report: { week: input.week, files: input.files } });
}

/** Deliver to one webhook; throws (and Temporal retries) on a network error or a non-2xx answer. */
export async function deliverWeeklyReport(
  deps: ReportDeps,
  input: { webhook: number; week: string; text: string; files: string[] },
): Promise<{ status: number }> {
  const url = deps.config().reports.webhooks[input.webhook];
  if (url === undefined) {
    throw ApplicationFailure.nonRetryable(
      `no reports webhook #${input.webhook} in the configuration`,
      'NoWebhook',
    );
  }
  const host = new URL(url).host; // log the host only: the path often holds a token
  const send = deps.fetch ?? fetch;
  let response: Response;
  try {
    response = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: webhookBody(input),
      signal: AbortSignal.timeout(deps.webhookTimeoutMs ?? 10_000),
    });
  } catch (error) {
    deps.log.warn('report webhook failed', {
      webhook: input.webhook,
      host,
      week: input.week,
      error: String(error),
    });
    throw ApplicationFailure.retryable(
      `report webhook #${input.webhook} (${host}) failed: ${String(error)}`,
      'WebhookFailed',
    );
  }
  await response.body?.cancel().catch(() => undefined);
  if (!response.ok) {
    deps.log.warn('report webhook answered with an error', {
      webhook: input.webhook,
      host,
      week: input.week,
      status: response.status,
    });
    const message = `report webhook #${input.webhook} (${host}) answered HTTP ${response.status}`;
    // a 4xx other than timeout/too-many-requests will not get better by retrying
    if (
      response.status >= 400 &&
      response.status < 500 &&
      response.status !== 408 &&
      response.status !== 429
    ) {
      throw ApplicationFailure.nonRetryable(message, 'WebhookRejected');
    }
    throw ApplicationFailure.retryable(message, 'WebhookFailed');
  }
  deps.log.info('report delivered', {
    webhook: input.webhook,
    host,
    week: input.week,
    status: response.status,
  });
  return { status: response.status };
}

export function createReportActivities(deps: ReportDeps) {
  return {
    writeWeeklyReport: (input: { week: string }) => writeWeeklyReport(deps, input),
    deliverWeeklyReport: (input: { webhook: number; week: string; text: string; files: string[] }) =>
      deliverWeeklyReport(deps, input),
  };
}

export type ReportActivities = ReturnType<typeof createReportActivities>;
