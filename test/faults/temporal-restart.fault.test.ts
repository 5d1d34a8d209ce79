// Stop and restart the Temporal dev server under load. The scenario runs its own dev server (the
// project's temporal binary, a SQLite file, its own port; not the suite's shared server): a worker
// process and the gateway use it while requests flow; the server is stopped for 5 s and started again
// on the same SQLite file and port. Workflows that were running continue from their histories;
// requests either complete or fail with a clear error (503 while the gateway cannot reach Temporal);
// the ledger equals the emulator's bill.
// Mid-batch: a realtime batch submitted through the gateway with groq-sdk, the server stopped once the
// batch has made progress; the batch still ends `completed` with every custom_id exactly once, each line
// booked once (audited like a request, `batch:<id>:<custom_id>`).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type RunningDevServer } from '../../client/services/temporal-dev-server';
import { batchAnswers, itemsDone, submitBatch } from '../support/fault-batch';
import { loadClient, type SentRequest } from '../support/fault-load';
import { endScenario, firstSuccessAfter, lastAnswerAfter, statusSummary } from '../support/fault-scenario';
import { until } from '../support/fault-workers';
import { postgresOrWarn, startDeployment, type Deployment } from '../support/multiprocess';
import { deploymentConfig } from '../support/deployment-config';

const MODEL = 'llama-3.1-8b-instant';
const DOWN_MS = 5_000;
const BATCH_LINES = 300;

const CONFIG = deploymentConfig({
  org: 'Fault Temporal restart',
  teams: [{ name: 'restart', keyName: 'restart-test-gateway', secretEnv: 'GG_FAULT_RESTART_KEY' }],
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const postgres = await postgresOrWarn('FAULT SUITE: TEMPORAL RESTART');

describe.skipIf(postgres.error !== null)('the Temporal dev server stops and restarts', () => {
  let dataDir: string;
  let port: number;
  let uiPort: number;
  let server: RunningDevServer;
  let deployment: Deployment;

  const start = () => startDevServer({ dataDir, port, uiPort, readyTimeoutMs: 120_000 });

  /** stops the dev server while `load` runs, starts it again on the same file and port; the restart time */
  async function restartDuring(): Promise<number> {
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    server = await start();
    return Date.now();
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gg-fault-temporal-'));
    [port, uiPort] = [await freePort(), await freePort()];
    server = await start();
    deployment = await startDeployment(postgres.url, {
      configYaml: CONFIG,
      workers: 1,
      latencyMs: 300,
      temporalAddress: server.address,
    });
  }, 240_000);
  afterAll(async () => {
    await deployment?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('single completions: complete or fail clearly; the ledger equals the bill', async () => {
    const client = loadClient({
      gatewayUrl: deployment.gateway.url,
      apiKey: await deployment.issueMemberKey('restart'),
      model: MODEL,
      timeoutMs: 120_000,
    });
    const since = Date.now();
    const pending: Promise<SentRequest>[] = [];
    let n = 0;
    const sender = setInterval(() => pending.push(client.send(`restart-${n++}`)), 400);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const restartedAt = await restartDuring();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    clearInterval(sender);
    const sent = await Promise.all(pending);
    await endScenario({
      scenario: 'Temporal dev server restart (completions)',
      sql: deployment.ledger.sql,
      billedCalls: () => deployment.emulator.billedCalls(),
      sent,
      recoverMs: firstSuccessAfter(sent, restartedAt),
      settleMs: 300,
      expect: { since, expectedStatuses: [503] },
      note: `answers by status: ${statusSummary(sent)}`,
    });
  });

  it('mid-batch: the batch completes, each custom_id once; the ledger equals the bill', async () => {
    const sql = deployment.ledger.sql;
    const since = Date.now();
    const batch = await submitBatch(
      deployment.gateway.url,
      await deployment.issueMemberKey('restart'),
      'restart-batch',
      BATCH_LINES,
    );
    await until('the batch under way', async () => (await itemsDone(sql, batch.id)) >= 30, 120_000);
    const doneAtStop = await itemsDone(sql, batch.id);
    const restartedAt = await restartDuring();
    const doneAtRestart = await itemsDone(sql, batch.id);
    const { done, sent, duplicates } = await batchAnswers(batch, 240_000);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: BATCH_LINES, completed: BATCH_LINES, failed: 0 });
    expect(duplicates).toEqual([]);
    await endScenario({
      scenario: 'Temporal dev server restart (batch)',
      sql,
      billedCalls: () => deployment.emulator.billedCalls(),
      sent,
      recoverMs: lastAnswerAfter(sent, restartedAt),
      settleMs: 300,
      expect: { since },
      note: `${BATCH_LINES}-line realtime batch; lines done at the stop: ${doneAtStop}, at the restart: ${doneAtRestart}`,
    });
  });
});
