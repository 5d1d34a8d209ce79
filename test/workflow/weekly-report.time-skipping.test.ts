// The weeklyReport workflow on the time-skipping server, with real activities on a seeded PGlite ledger
// and real HTTP webhooks: files are written before delivery, a failing webhook is retried by Temporal
// (the backoff is skipped, not slept), and a webhook that never recovers loses nothing.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReportActivities } from '../../activities/reports';
import type { Logger } from '../../activities/alerts';
import type { GovernorConfig } from '../../domain/config';
import { openLedger, type LedgerStore } from '../../ledger';
import type { WeeklyReportResult } from '../../workflows/weekly-report';
import { REPORT_WEEK, reportConfig, seedReportLedger } from '../support/report-seed';
import { timeSkippingEnv, uniqueTaskQueue, workflowBundle } from '../support/temporal';
import { webhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const lines: string[] = [];
const log: Logger = {
  info: (message, fields) => lines.push(JSON.stringify({ message, ...fields })),
  warn: (message, fields) => lines.push(JSON.stringify({ message, ...fields })),
};

describe('weeklyReport on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let ledger: LedgerStore;
  let directory: string;
  let flaky: WebhookReceiver;
  let broken: WebhookReceiver;
  let rejecting: WebhookReceiver;
  let config: GovernorConfig;

  beforeAll(async () => {
    env = await timeSkippingEnv();
    ledger = await openLedger({ inMemory: true });
    await seedReportLedger(ledger);
    directory = await mkdtemp(join(tmpdir(), 'gg-reports-'));
    flaky = await webhookReceiver([503, 502, 200]);
    broken = await webhookReceiver([500]);
    rejecting = await webhookReceiver([404]);
    config = reportConfig({ directory, webhooks: [flaky.url, broken.url, rejecting.url] });
  });
  afterAll(async () => {
    await env?.teardown();
    await ledger?.close();
    await Promise.all([flaky, broken, rejecting].map((receiver) => receiver?.close()));
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  async function run(week: string): Promise<WeeklyReportResult & { workflowId: string }> {
    const taskQueue = uniqueTaskQueue('weekly-report-ts');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: workflowBundle(),
      activities: createReportActivities({
        ledger,
        config: () => config,
        log,
        now: () => Date.parse('2026-11-23T08:00:00Z'),
      }),
    });
    const workflowId = `${taskQueue}-${week}`;
    const result: WeeklyReportResult = await worker.runUntil(
      env.client.workflow.execute('weeklyReport', {
        taskQueue,
        workflowId,
        args: [{ week, timeZone: 'Europe/Berlin' }],
      }),
    );
    return { ...result, workflowId };
  }

  it('writes the files, retries the failing webhooks and reports which deliveries failed', async () => {
    const result = await run(REPORT_WEEK);
    const weekDir = join(directory, '2026-W47');
    expect(result.week).toBe('2026-W47');
    expect(result.directory).toBe(weekDir);
    expect(result.orgCostNanos).toBe('1720016');
    expect(result.reconciled).toBe(true);
    expect((await readdir(weekDir)).sort()).toEqual([
      'keys.csv',
      'report.csv',
      'report.html',
      'report.json',
      'report.md',
    ]);
    const json = JSON.parse(await readFile(join(weekDir, 'report.json'), 'utf8')) as {
      org: { totals: { costNanos: string } };
      teams: { team: string | null; totals: { costNanos: string } }[];
    };
    expect(json.org.totals.costNanos).toBe('1720016');
    expect(json.teams.map((t) => [t.team, t.totals.costNanos])).toEqual([
      ['alpha', '1120016'],
      ['beta', '600000'],
      ['gamma', '0'],
      [null, '0'],
    ]);
    expect(await readFile(join(weekDir, 'report.md'), 'utf8')).toContain('| alpha | $0.001120016 | 5 |');

    // 503, 502, then 200: three attempts; 500 forever: all five attempts; 404: not retried
    expect(flaky.bodies).toHaveLength(3);
    expect(broken.bodies).toHaveLength(5);
    expect(rejecting.bodies).toHaveLength(1);
    expect(result.deliveries).toEqual([
      { webhook: 0, delivered: true },
      { webhook: 1, delivered: false, error: expect.stringContaining('answered HTTP 500') as string },
      { webhook: 2, delivered: false, error: expect.stringContaining('answered HTTP 404') as string },
    ]);
    const body = flaky.bodies[2] as { text: string; report: { week: string; files: string[] } };
    expect(body.text).toContain('week 2026-W47');
    expect(body.text).toContain('- gamma: $0.00, 0 requests');
    expect(body.report.week).toBe('2026-W47');

    // the webhook's secret path never reaches the workflow history or the logs
    const history = await env.client.workflow.getHandle(result.workflowId).fetchHistory();
    const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
    expect(raw).toContain('2026-W47'); // the payloads are readable here...
    expect(raw).not.toContain('secret-token-path'); // ...and the webhook's path is not among them
    // the broken webhook's backoff (10 + 20 + 40 + 80 s) passed in workflow time, skipped rather than slept
    const events = history.events ?? [];
    const seconds = (i: number) => Number(events[i]?.eventTime?.seconds ?? 0);
    expect(seconds(events.length - 1) - seconds(0)).toBeGreaterThanOrEqual(150);
    expect(lines.join('\n')).not.toContain('secret-token-path');
  });

  it('re-running a week replaces its files instead of adding copies', async () => {
    const weekDir = join(directory, '2026-W47');
    const before = await stat(join(weekDir, 'report.html'));
    await ledger.recordUsage({
      requestId: 'late-arrival',
      attempt: 0,
      period: '2026-11',
      team: 'gamma',
      model: 'llama-3.1-8b-instant',
      keyName: 'gamma-test-gateway',
      keyVersion: 1,
      promptTokens: 10,
      completionTokens: 10,
      costNanos: 1_000n,
      outcome: 'success',
      startedAt: new Date('2026-11-21T12:00:00Z'),
    });
    const result = await run(REPORT_WEEK);
    expect(result.orgCostNanos).toBe('1721016');
    expect((await readdir(directory)).sort()).toEqual(['2026-W47']);
    expect((await readdir(weekDir)).sort()).toEqual([
      'keys.csv',
      'report.csv',
      'report.html',
      'report.json',
      'report.md',
    ]);
    expect((await stat(join(weekDir, 'report.html'))).ino).not.toBe(before.ino); // renamed over, not appended
    expect(await readFile(join(weekDir, 'report.csv'), 'utf8')).toContain(',gamma,0.000001,1000,1,');
  });
});
