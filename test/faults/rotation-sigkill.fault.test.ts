// SIGKILL the worker during a key rotation's monitor. One `groq-governor worker` process serves governed
// completions (a request every 300 ms through the gateway, emulator latency 300 ms) on an upstream key
// with two versions in the data folder's encrypted secret store (the old secret active, a new one next).
// A rotation started over the admin API (10 s monitor window, a check every second) promotes the new
// version; 3 s into the monitor, the test kills the worker, with calls in flight, and starts another.
// The rotation still completes (the old version revoked, no call on the old key afterwards), no request
// is lost, and the ledger equals the emulator's bill except the attempts kept charged as unknown. Whether
// the kill hit the rotation is read from its history (a workflow task that timed out on the dead worker).
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { listKeyVersions } from '../../ledger/key-versions';
import { rotationWorkflowId } from '../../workflows/key-rotation-messages';
import { loadClient, type SentRequest } from '../support/fault-load';
import { endScenario, firstSuccessAfter, statusSummary } from '../support/fault-scenario';
import { aliveWorkers, claimedCalls, historyEvents, killWorker, until } from '../support/fault-workers';
import { postgresOrWarn, startDeployment, type Deployment } from '../support/multiprocess';
import { adminApi, twoKeyVersions } from '../support/rotation-deployment';
import { deploymentConfig } from '../support/deployment-config';

const MODEL = 'llama-3.1-8b-instant';
const KEY = 'rotate-test-gateway';
const LATENCY_MS = 300;
const FINAL = ['completed', 'rolled-back', 'aborted', 'failed'];

const CONFIG = deploymentConfig({
  org: 'Fault rotation kill',
  teams: [{ name: 'rotate', keyName: KEY, secretEnv: 'GG_FAULT_ROTATE_KEY' }],
});

const postgres = await postgresOrWarn('FAULT SUITE: WORKER SIGKILL DURING A ROTATION');

describe.skipIf(postgres.error !== null)("SIGKILL the worker during a key rotation's monitor", () => {
  let deployment: Deployment;
  let dataDir: string;
  let connection: Connection;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gg-fault-rotation-'));
    deployment = await startDeployment(postgres.url, {
      configYaml: CONFIG,
      workers: 0,
      workerDataDir: dataDir,
      latencyMs: LATENCY_MS,
    });
    await twoKeyVersions(deployment, dataDir, KEY);
    await deployment.startWorker();
    connection = await Connection.connect({ address: inject('temporalDevAddress') });
  }, 180_000);
  afterAll(async () => {
    await connection?.close();
    await deployment?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('the rotation completes, the old version is revoked; nothing lost, the ledger equals the bill', async () => {
    const { emulator, ledger, gateway } = deployment;
    const call = await adminApi(deployment);
    /** the rotation's status, or null while no worker answers its query */
    const status = async () => {
      const answer = await call('GET', `/admin/rotations/${KEY}`);
      return answer.status === 200 ? answer.body : null;
    };
    const client = loadClient({
      gatewayUrl: gateway.url,
      apiKey: await deployment.issueMemberKey('rotate'),
      model: MODEL,
      timeoutMs: 120_000,
    });

    const since = Date.now();
    const pending: Promise<SentRequest>[] = [];
    let n = 0;
    const sender = setInterval(() => pending.push(client.send(`rotate-${n++}`)), 300);
    try {
      await until('traffic on the old key', async () => emulator.requestCount(KEY) >= 5);
      const started = await call('POST', '/admin/rotations', {
        key_name: KEY,
        monitor_window: '10s',
        check_interval: '1s',
      });
      expect(started.status).toBe(201);
      await until('the monitor', async () => (await status())?.phase === 'monitoring');
      // past every process's 2 s cache of the key states: new calls go to the new version
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const victim = aliveWorkers(deployment)[0]!;
      let inFlight = 0;
      await until('calls in flight on the worker', async () => {
        inFlight = await claimedCalls(ledger.sql, victim);
        return inFlight > 0;
      });
      await killWorker(victim);
      const killedAt = Date.now();
      await deployment.startWorker();
      const pollingAfterMs = Date.now() - killedAt;
      let end: Record<string, unknown> | null = null;
      await until(
        'the rotation to end',
        async () => FINAL.includes(String((end = await status())?.phase)),
        120_000,
      );
      const endedAfterMs = Date.now() - killedAt;
      expect(end!.phase).toBe('completed');
      const oldAtEnd = emulator.requestCount(KEY);
      // load on after the end: none of it reaches the old key
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      clearInterval(sender);
      const sent = await Promise.all(pending);
      expect(emulator.requestCount(KEY)).toBe(oldAtEnd);
      expect((await listKeyVersions(ledger.sql, KEY)).map((v) => [v.version, v.state])).toEqual([
        [1, 'revoked'],
        [2, 'active'],
      ]);

      const events = await historyEvents(connection, deployment.namespace, rotationWorkflowId(KEY));
      const timedOut = events.filter(
        (e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
      ).length;
      await endScenario({
        scenario: 'SIGKILL worker during rotation monitor',
        sql: ledger.sql,
        billedCalls: () => emulator.billedCalls(),
        sent,
        recoverMs: firstSuccessAfter(sent, killedAt),
        settleMs: LATENCY_MS,
        expect: { since },
        note:
          `answers by status: ${statusSummary(sent)}; ${inFlight} call(s) in flight at the kill; ` +
          `new worker polling ${(pollingAfterMs / 1000).toFixed(1)} s after the kill, ` +
          `rotation completed ${(endedAfterMs / 1000).toFixed(1)} s after the kill, ` +
          `window extensions: ${String(end!.windowExtensions)}; ` +
          `rotation workflow tasks timed out on the dead worker: ${timedOut}`,
      });
      expect(timedOut).toBeGreaterThan(0);
    } finally {
      clearInterval(sender);
    }
  });
});
