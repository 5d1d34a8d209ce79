// `groq-governor report ...` against the dev server, with a worker running the real report activities
// on a seeded ledger: run prints the console table, backfill runs past weeks, schedule manages the
// Schedule (its own id and task queue here, so parallel test files never share them).
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { consoleLogger } from '../../../activities/alerts';
import { createReportActivities } from '../../../activities/reports';
import { main } from '../../../client/cli/main';
import { loadDataConverter } from '../../../client/services/components';
import { openLedger, type LedgerStore } from '../../../ledger';
import { REPORT_WEEK, reportConfig, reportConfigText, seedReportLedger } from '../../support/report-seed';
import { devServerEnv, uniqueTaskQueue, workflowBundle } from '../../support/temporal';

describe('groq-governor report', () => {
  let env: TestWorkflowEnvironment;
  let ledger: LedgerStore;
  let dataDir: string;
  let configFile: string;
  let worker: Worker;
  let running: Promise<void>;
  /** a client with the CLI's payload codec (the data folder's key), to read what the CLI started */
  let client: Client;
  const taskQueue = uniqueTaskQueue('report-cli');
  const scheduleId = `weekly-report-cli-${taskQueue}`;
  const previousAddress = process.env.TEMPORAL_ADDRESS;

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      [
        'report',
        ...argv,
        '--config',
        configFile,
        '--data-dir',
        dataDir,
        '--task-queue',
        taskQueue,
        '--schedule-id',
        scheduleId,
      ],
      { stdout: (t) => out.push(t), stderr: (t) => err.push(t) },
    );
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  beforeAll(async () => {
    process.env.TEMPORAL_ADDRESS = inject('temporalDevAddress');
    env = await devServerEnv();
    ledger = await openLedger({ inMemory: true });
    await seedReportLedger(ledger);
    dataDir = await mkdtemp(join(tmpdir(), 'gg-report-cli-'));
    const directory = join(dataDir, 'reports');
    configFile = join(dataDir, 'governor.yaml');
    await writeFile(configFile, reportConfigText({ directory }));
    const config = reportConfig({ directory });
    const dataConverter = await loadDataConverter(dataDir, () => undefined);
    client = new Client({ connection: env.client.connection, dataConverter });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: workflowBundle(),
      dataConverter,
      activities: createReportActivities({ ledger, config: () => config, log: consoleLogger, now: Date.now }),
    });
    running = worker.run();
  });
  afterAll(async () => {
    await env?.client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
    worker?.shutdown();
    await running;
    await ledger?.close();
    await env?.teardown();
    if (previousAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
    else process.env.TEMPORAL_ADDRESS = previousAddress;
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('report run --week prints the console table and where the files are', async () => {
    const { code, out, err } = await cli('run', '--week', REPORT_WEEK);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('Week 2026-W47');
    expect(out).toMatch(
      /^Temporal Web UI: http:\/\/[^ ]+\/namespaces\/default\/workflows\/weekly-report-2026-W47$/m,
    );
    expect(out).toMatch(
      /alpha\s+\$0\.001120016\s+5\s+2,811\/802\s+89\.28%\s+llama-3\.3-70b-versatile\s+7\s+34\.20%\s+\+273\.32%/,
    );
    expect(out).toMatch(/gamma\s+\$0\.00\s+0\s/);
    expect(out).toMatch(/Acme Test\s+\$0\.001720016\s+8\s/);
    expect(out).toContain(`Files: ${join(dataDir, 'reports', REPORT_WEEK)}`);
  });

  it('report backfill runs each past week once', async () => {
    const { code, out } = await cli('backfill', '--from', '2026-W45', '--to', '2026-W46');
    expect(code).toBe(0);
    expect(out).toContain('Week 2026-W45');
    expect(out).toContain('Week 2026-W46');
    expect((await readdir(join(dataDir, 'reports'))).sort()).toEqual(['2026-W45', '2026-W46', '2026-W47']);
  });

  it('refuses a malformed week', async () => {
    const { code, err } = await cli('run', '--week', '2026-47');
    expect(code).toBe(2);
    expect(err).toContain('--week must be an ISO week like 2026-W47');
  });

  it('report schedule sync, show, pause, resume', async () => {
    expect((await cli('schedule', 'sync')).out).toContain(`schedule ${scheduleId} created`);
    expect((await cli('schedule', 'sync')).out).toContain(`schedule ${scheduleId} updated`);
    const shown = await cli('schedule', 'show');
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`schedule ${scheduleId}: active`);
    expect(shown.out).toContain(`/namespaces/default/schedules/${scheduleId}`);
    expect(shown.out).toContain('MONDAY 09:00 in Europe/Berlin');
    await cli('schedule', 'pause');
    expect((await cli('schedule', 'show')).out).toContain(
      `schedule ${scheduleId}: PAUSED (paused from the CLI)`,
    );
    await cli('schedule', 'resume');
    expect((await cli('schedule', 'show')).out).toContain(`schedule ${scheduleId}: active`);
  });

  it('report schedule backfill runs the Schedule for past weeks, each reporting its own week', async () => {
    const { code, out } = await cli('schedule', 'backfill', '--from', '2026-W43', '--to', '2026-W44');
    expect(code).toBe(0);
    // a run anywhere in week W+1 reports week W: Monday 26 Oct 00:00 to Monday 9 Nov 00:00, Berlin time
    expect(out).toContain('runs between 2026-10-25T23:00:00.000Z and 2026-11-08T23:00:00.000Z');
    const handle = client.schedule.getHandle(scheduleId);
    const workflowIds = await waitFor('both backfilled runs', async () => {
      const actions = (await handle.describe()).info.recentActions.filter(
        (a) => a.scheduledAt < new Date('2026-11-09T00:00:00Z'),
      );
      const ids = actions.flatMap((a) =>
        a.action.type === 'startWorkflow' ? [a.action.workflow.workflowId] : [],
      );
      return ids.length === 2 ? ids : undefined;
    });
    const weeks = await Promise.all(
      workflowIds.map(
        async (id) => ((await client.workflow.getHandle(id).result()) as { week: string }).week,
      ),
    );
    expect(weeks.sort()).toEqual(['2026-W43', '2026-W44']);
  });

  it('report schedule trigger runs it now', async () => {
    const handle = client.schedule.getHandle(scheduleId);
    const before = (await handle.describe()).info.numActionsTaken;
    const { code, out } = await cli('schedule', 'trigger');
    expect(code).toBe(0);
    expect(out).toContain('triggered');
    await waitFor('the triggered run', async () =>
      (await handle.describe()).info.numActionsTaken > before ? true : undefined,
    );
  });
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
