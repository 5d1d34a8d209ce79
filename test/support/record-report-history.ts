/**
 * Records the weeklyReport history the replay test guards, without touching the other fixtures:
 *   npx tsx test/support/record-report-history.ts
 * One run for week 2026-W47 on the seeded ledger, with one webhook that answers 200 and one that
 * answers 404 (not retried), so the history holds a delivered and a failed delivery.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createReportActivities } from '../../activities/reports';
import { startDevServer } from '../../client/services/temporal-dev-server';
import { ensureTemporal } from '../../scripts/install-temporal.mjs';
import { openLedger } from '../../ledger';
import { installRuntime } from '../../workers/runtime';
import { workflowsPath } from '../../workers/worker';
import { REPORT_WEEK, reportConfig, seedReportLedger } from './report-seed';
import { webhookReceiver } from './webhook-receiver';

const name = 'weeklyReport-one-delivery-failed';
const outDir = new URL('../fixtures/histories/', import.meta.url);
installRuntime('ERROR');
const scratch = mkdtempSync(join(tmpdir(), 'gg-record-report-'));
const ledger = await openLedger({ inMemory: true });
await seedReportLedger(ledger);
const ok = await webhookReceiver([200]);
const rejecting = await webhookReceiver([404]);
const config = reportConfig({ directory: join(scratch, 'reports'), webhooks: [ok.url, rejecting.url] });
const server = await startDevServer({ dataDir: scratch, port: 17243, uiPort: 18243 });
try {
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  const taskQueue = `record-${name}`;
  const worker = await Worker.create({
    connection: workerConnection,
    taskQueue,
    workflowsPath,
    activities: createReportActivities({
      ledger,
      config: () => config,
      log: { info: () => undefined, warn: () => undefined },
      now: () => Date.parse('2026-11-23T08:00:00Z'),
    }),
  });
  const handle = await client.workflow.start('weeklyReport', {
    taskQueue,
    workflowId: `record-${name}`,
    args: [{ week: REPORT_WEEK, timeZone: 'Europe/Berlin' }],
  });
  await worker.runUntil(handle.result());
  const shown = spawnSync(
    ensureTemporal({ quiet: true }).temporal,
    ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', server.address, '--output', 'json'],
    { encoding: 'utf8' },
  );
  if (shown.status !== 0) throw new Error(`temporal workflow show failed: ${shown.stderr}`);
  const history = JSON.parse(shown.stdout) as { events: unknown[] };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(new URL(`${name}.json`, outDir), JSON.stringify(history, null, 1) + '\n');
  console.log(`recorded ${name} (${history.events.length} events)`);
  await connection.close();
  await workerConnection.close();
} finally {
  await ok.close();
  await rejecting.close();
  await ledger.close();
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
