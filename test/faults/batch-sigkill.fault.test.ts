// SIGKILL a worker during a realtime batch. A 400-line batch goes through the gateway with the official
// groq-sdk (files.create + batches.create) to two `groq-governor worker` processes; twice, once the
// batch has made progress, the test kills a worker that has Groq calls of batch items in flight and
// starts a new one. The batch still ends `completed` with every custom_id exactly once in its output;
// each line is audited like a request (`batch:<id>:<custom_id>`): booked exactly once, and every call
// the emulator billed booked at its cost (the dead worker's calls from its egress journal) or covered by
// an attempt kept charged as unknown (only a call without any answer). Which item activities the kills interrupted is read from
// the batch workflow's history (activities that started more than once).
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { batchWorkflowId } from '../../workflows/batch-job-messages';
import { batchAnswers, itemsDone, submitBatch } from '../support/fault-batch';
import { endScenario, lastAnswerAfter } from '../support/fault-scenario';
import { aliveWorkers, claimedCalls, historyEvents, killWorker, until } from '../support/fault-workers';
import { postgresOrWarn, startDeployment, type Deployment } from '../support/multiprocess';
import { deploymentConfig } from '../support/deployment-config';

const LINES = 400;
const KILLS = 2;
const LATENCY_MS = 200;

const CONFIG = deploymentConfig({
  org: 'Fault batch kill',
  teams: [{ name: 'crunch', keyName: 'crunch-test-gateway', secretEnv: 'GG_FAULT_BATCH_KILL_KEY' }],
});

const postgres = await postgresOrWarn('FAULT SUITE: WORKER SIGKILL DURING A BATCH');

describe.skipIf(postgres.error !== null)('SIGKILL a worker during a realtime batch', () => {
  let deployment: Deployment;
  let connection: Connection;

  beforeAll(async () => {
    deployment = await startDeployment(postgres.url, {
      configYaml: CONFIG,
      workers: 2,
      latencyMs: LATENCY_MS,
    });
    connection = await Connection.connect({ address: inject('temporalDevAddress') });
  }, 180_000);
  afterAll(async () => {
    await connection?.close();
    await deployment?.close();
  }, 60_000);

  it(`${LINES} lines, ${KILLS} kills: completed, each custom_id once, the ledger equals the bill`, async () => {
    const sql = deployment.ledger.sql;
    const since = Date.now();
    const batch = await submitBatch(
      deployment.gateway.url,
      await deployment.issueMemberKey('crunch'),
      'kill-batch',
      LINES,
    );
    const kills: string[] = [];
    let killedAt = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      const target = Math.floor((LINES * kill) / (KILLS + 2));
      await until(`${target} lines done`, async () => (await itemsDone(sql, batch.id)) >= target, 120_000);
      let victim = aliveWorkers(deployment)[0]!;
      let inFlight = 0;
      // a killed worker's chunks come back after their heartbeat timeout; on a loaded machine that and
      // the recovery of its calls can take longer than a minute
      await until(
        'a worker with batch calls in flight',
        async () => {
          for (const worker of aliveWorkers(deployment)) {
            inFlight = await claimedCalls(sql, worker, `batch:${batch.id}:%`);
            if (inFlight === 0) continue;
            victim = worker;
            return true;
          }
          return false;
        },
        180_000,
      );
      await killWorker(victim);
      killedAt = Date.now();
      kills.push(`${victim.name} killed with ${inFlight} call(s) in flight`);
      await deployment.startWorker();
    }

    const { done, sent, duplicates } = await batchAnswers(batch, 240_000);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });
    expect(duplicates).toEqual([]);

    const events = await historyEvents(connection, deployment.namespace, batchWorkflowId(batch.id));
    const rerun = events.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
    await endScenario({
      scenario: 'SIGKILL worker during a batch',
      sql,
      billedCalls: () => deployment.emulator.billedCalls(),
      sent,
      recoverMs: lastAnswerAfter(sent, killedAt),
      expect: { since },
      settleMs: LATENCY_MS,
      note: `${LINES}-line realtime batch; ${kills.join(', ')}; item activities started again: ${rerun}`,
    });
    expect(rerun).toBeGreaterThan(0);
  }, 300_000);
});
