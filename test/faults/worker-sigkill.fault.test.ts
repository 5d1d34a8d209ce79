// SIGKILL a worker process during each step of governed completions. Two `groq-governor worker`
// processes share the load; the test holds the requests inside one step and kills a worker while they
// are there, then restarts a worker and audits:
// - policy: the test holds an ACCESS EXCLUSIVE lock on `team_pauses`, which the policy read joins;
// - reservation: an EXCLUSIVE lock on `budget_reservations` (reads pass, the hold's insert waits);
// - admission: an EXCLUSIVE lock on `rate_admissions` (the limiter's insert waits);
// - upstream call: the emulator answers after 2.5 s, the kill comes once the victim has claimed calls;
// - booking: an EXCLUSIVE lock on `usage_records` (the call is done and billed, its booking waits).
// The locks live only in the test's own PostgreSQL session; production code has no hook for this.
// Which workflows the kill interrupted is read from their histories (a workflow task that timed out).
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadClient, type SentRequest } from '../support/fault-load';
import { endScenario, lastAnswerAfter } from '../support/fault-scenario';
import { aliveWorkers, claimedCalls, historyEvents, killWorker, until } from '../support/fault-workers';
import { postgresOrWarn, startDeployment, type Deployment } from '../support/multiprocess';
import { deploymentConfig } from '../support/deployment-config';

const MODEL = 'llama-3.1-8b-instant';
const REQUESTS = 8;

const CONFIG = deploymentConfig({
  org: 'Fault worker kill',
  teams: [{ name: 'kill', keyName: 'kill-test-gateway', secretEnv: 'GG_FAULT_KILL_KEY' }],
});

const postgres = await postgresOrWarn('FAULT SUITE: WORKER SIGKILL');

describe.skipIf(postgres.error !== null)('SIGKILL a worker during each step of a governed completion', () => {
  let deployment: Deployment;
  let client: ReturnType<typeof loadClient>;
  let connection: Connection;

  beforeAll(async () => {
    deployment = await startDeployment(postgres.url, { configYaml: CONFIG, workers: 2 });
    client = loadClient({
      gatewayUrl: deployment.gateway.url,
      apiKey: await deployment.issueMemberKey('kill'),
      model: MODEL,
    });
    connection = await Connection.connect({ address: inject('temporalDevAddress') });
  }, 180_000);
  afterAll(async () => {
    await connection?.close();
    await deployment?.close();
  }, 60_000);

  /** how many of these requests' workflows had a workflow task time out (a worker died holding it) */
  async function interrupted(sent: SentRequest[]): Promise<number> {
    let count = 0;
    for (const request of sent) {
      if (!request.requestId) continue;
      const events = await historyEvents(connection, deployment.namespace, `completion-${request.requestId}`);
      if (
        events.some((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
      )
        count++;
    }
    return count;
  }

  /** holds a lock on `table` in a session of its own while requests pile up in a step, kills a worker, releases */
  async function killDuringLockedStep(step: string, table: string, mode: string): Promise<void> {
    const since = Date.now();
    const session = new pg.Client({ connectionString: deployment.databaseUrl });
    await session.connect();
    let waiting = 0;
    const lockWaiters = async (): Promise<number> => {
      // inside a transaction pg_stat_activity is a snapshot taken at its first read: drop it each time
      await session.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await session.query(
        `SELECT COUNT(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
      );
      return Number(rows[0]?.n);
    };
    try {
      await session.query('BEGIN');
      await session.query(`LOCK TABLE ${table} IN ${mode} MODE`);
      const pending = Array.from({ length: REQUESTS }, (_, n) => client.send(`kill-${step}-${n}`));
      await until(`${step}: requests waiting on the lock`, async () => {
        waiting = await lockWaiters();
        return waiting >= 1;
      });
      // more requests reach the step; a backend waits on the table or on a transaction that waits on it
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      waiting = await lockWaiters();
      const victim = aliveWorkers(deployment)[0]!;
      await killWorker(victim);
      const killedAt = Date.now();
      await session.query('COMMIT');
      const restarted = deployment.startWorker();
      const sent = await Promise.all(pending);
      await restarted;
      await finish(
        `SIGKILL worker during ${step}`,
        sent,
        since,
        killedAt,
        `${waiting} statement(s) waiting on the lock at the kill`,
      );
    } finally {
      await session.end().catch(() => undefined);
    }
  }

  async function finish(
    scenario: string,
    sent: SentRequest[],
    since: number,
    killedAt: number,
    detail: string,
  ) {
    const hit = await interrupted(sent);
    await endScenario({
      scenario,
      sql: deployment.ledger.sql,
      billedCalls: () => deployment.emulator.billedCalls(),
      sent,
      recoverMs: lastAnswerAfter(sent, killedAt),
      expect: { since },
      settleMs: deployment.emulator.latency().latencyMs,
      note: `${detail}; ${hit} workflow(s) had a task on the killed worker`,
    });
    return hit;
  }

  it('policy', async () => {
    await killDuringLockedStep('policy', 'team_pauses', 'ACCESS EXCLUSIVE');
  });

  it('budget reservation', async () => {
    await killDuringLockedStep('reservation', 'budget_reservations', 'EXCLUSIVE');
  });

  it('admission', async () => {
    await killDuringLockedStep('admission', 'rate_admissions', 'EXCLUSIVE');
  });

  it('upstream call', async () => {
    const since = Date.now();
    deployment.emulator.setLatency({ latencyMs: 2_500 });
    try {
      const pending = Array.from({ length: REQUESTS }, (_, n) => client.send(`kill-call-${n}`));
      const victim = aliveWorkers(deployment)[0]!;
      let claimed = 0;
      await until('calls claimed by the victim', async () => {
        claimed = await claimedCalls(deployment.ledger.sql, victim);
        return claimed > 0;
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await killWorker(victim);
      const killedAt = Date.now();
      const restarted = deployment.startWorker();
      const sent = await Promise.all(pending);
      await restarted;
      const hit = await finish(
        'SIGKILL worker during upstream call',
        sent,
        since,
        killedAt,
        `${claimed} call(s) in flight`,
      );
      expect(hit).toBeGreaterThan(0);
    } finally {
      deployment.emulator.setLatency({ latencyMs: 0 });
    }
  });

  it('booking', async () => {
    await killDuringLockedStep('booking', 'usage_records', 'EXCLUSIVE');
  });
});
