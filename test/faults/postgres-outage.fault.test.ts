// PostgreSQL unreachable for 10 s: the worker process and the gateway reach the database through a TCP
// proxy (test/support/tcp-proxy.ts); under steady load the proxy cuts every connection and refuses new
// ones for 10 s, then lets them through again. Requests complete (their steps retry) or fail with a
// clear error; nothing is lost or billed twice, and the ledger matches the emulator's bill.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { loadClient, type SentRequest } from '../support/fault-load';
import { endScenario, firstSuccessAfter, statusSummary } from '../support/fault-scenario';
import { postgresOrWarn, startDeployment, type Deployment } from '../support/multiprocess';
import { deploymentConfig } from '../support/deployment-config';

const MODEL = 'llama-3.1-8b-instant';
const OUTAGE_MS = 10_000;

const CONFIG = deploymentConfig({
  org: 'Fault database outage',
  teams: [{ name: 'outage', keyName: 'outage-test-gateway', secretEnv: 'GG_FAULT_OUTAGE_KEY' }],
});

const postgres = await postgresOrWarn('FAULT SUITE: POSTGRESQL OUTAGE');

describe.skipIf(postgres.error !== null)('PostgreSQL unreachable for 10 s', () => {
  let deployment: Deployment;

  beforeAll(async () => {
    deployment = await startDeployment(postgres.url, {
      configYaml: CONFIG,
      workers: 1,
      latencyMs: 200,
      databaseProxy: true,
    });
  }, 180_000);
  afterAll(async () => {
    await deployment?.close();
  }, 60_000);

  it('requests complete or fail clearly; the ledger equals the bill', async () => {
    const proxy = deployment.proxy!;
    const client = loadClient({
      gatewayUrl: deployment.gateway.url,
      apiKey: await deployment.issueMemberKey('outage'),
      model: MODEL,
      timeoutMs: 90_000,
    });
    const since = Date.now();
    const pending: Promise<SentRequest>[] = [];
    let n = 0;
    const sender = setInterval(() => pending.push(client.send(`outage-${n++}`)), 400);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    proxy.restore();
    const restoredAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    clearInterval(sender);
    const sent = await Promise.all(pending);
    await endScenario({
      scenario: 'PostgreSQL unreachable 10 s',
      sql: deployment.ledger.sql,
      billedCalls: () => deployment.emulator.billedCalls(),
      sent,
      recoverMs: firstSuccessAfter(sent, restoredAt),
      settleMs: 200,
      expect: { since, expectedStatuses: [503] },
      note: `answers by status: ${statusSummary(sent)}; ${proxy.refused()} connections refused`,
    });
  });
});
