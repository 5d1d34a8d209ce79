// Two `groq-governor worker` processes; one is killed with SIGKILL while it has calls to a slow Groq in
// flight. Every request still completes (the surviving worker re-runs the workflow tasks once their
// timeout passes), and the ledger equals the emulator's bill: the dead worker's egress process finishes
// its calls and journals their answers, and the surviving worker books those answers (and answers the
// requests with them) instead of calling Groq again. Nothing is held as unknown, nothing billed twice.
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresOrWarn, startDeployment, type Deployment } from '../../support/multiprocess';
import { deploymentConfig } from '../../support/deployment-config';
import { EGRESS_CLAIM_SUFFIX } from '../../../domain/egress';

const MODEL = 'llama-3.1-8b-instant';
const REQUESTS = 20;

const CONFIG = deploymentConfig({
  org: 'Multiprocess crash',
  teams: [{ name: 'crash', keyName: 'crash-test-gateway', secretEnv: 'GG_MP_CRASH_KEY' }],
});

const postgres = await postgresOrWarn('MULTIPROCESS WORKER-CRASH TEST');

describe.skipIf(postgres.error !== null)('a worker process dies mid-call', () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await startDeployment(postgres.url, { configYaml: CONFIG, workers: 2, latencyMs: 3_000 });
  }, 180_000);
  afterAll(async () => {
    await deployment?.close();
  }, 60_000);

  it(`${REQUESTS} requests complete and every billed call is booked once at its cost`, async () => {
    const { emulator, ledger, gateway, workers } = deployment;
    const key = await deployment.issueMemberKey('crash');
    const groq = new Groq({ baseURL: gateway.url, apiKey: key, maxRetries: 0, timeout: 240_000 });
    const pending = Array.from({ length: REQUESTS }, (_, n) =>
      groq.chat.completions
        .create({
          model: MODEL,
          messages: [{ role: 'user', content: `crash test ${n}: tell me something` }],
          max_completion_tokens: 16,
        })
        .then(
          (completion) => ({ ok: true as const, id: completion.id }),
          (error: unknown) => ({ ok: false as const, error: String(error) }),
        ),
    );

    // kill the first worker once it has claimed calls that are now waiting on the slow emulator
    const victim = workers[0]!;
    const claimer = `worker@%:${victim.child.pid}${EGRESS_CLAIM_SUFFIX}`;
    const deadline = Date.now() + 60_000;
    let claimed = 0;
    while (claimed === 0) {
      if (Date.now() > deadline) throw new Error(`${victim.name} never claimed a call:\n${victim.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { rows } = await ledger.sql.query(
        `SELECT COUNT(*) AS n FROM budget_reservations WHERE call_claimed_by LIKE $1`,
        [claimer],
      );
      claimed = Number(rows[0]?.n);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exited = new Promise((resolve) => victim.child.once('exit', resolve));
    victim.child.kill('SIGKILL');
    await exited;

    const results = await Promise.all(pending);
    const failures = results.filter((r) => !r.ok);
    expect(failures, JSON.stringify(failures.slice(0, 5))).toEqual([]);
    // calls still in flight at the emulator when their worker died finish (and are billed) 3 s later
    await new Promise((resolve) => setTimeout(resolve, 4_000));

    const calls = emulator.billedCalls();
    const usage = await ledger.sql.query(
      `SELECT u.request_id, u.attempt, u.period, u.outcome, u.upstream_request_id, u.cost_nanos, u.reservation_id,
              r.state, r.amount_nanos
         FROM usage_records u LEFT JOIN budget_reservations r ON r.id = u.reservation_id
        ORDER BY u.request_id, u.attempt`,
    );
    const successByUpstreamId = new Map(
      usage.rows
        .filter((r) => r.outcome === 'success')
        .map((r) => [String(r.upstream_request_id), BigInt(String(r.cost_nanos))]),
    );
    for (const call of calls) expect(successByUpstreamId.get(call.request_id)).toBe(BigInt(call.cost_nanos));
    const successes = usage.rows.filter((r) => r.outcome === 'success');
    expect(successes).toHaveLength(REQUESTS);
    expect(calls).toHaveLength(REQUESTS);
    const unknown = usage.rows.filter((r) => r.outcome === 'unknown');
    expect(unknown).toHaveLength(0);
    const spend = await ledger.getTeamSpend('crash', String(usage.rows[0]?.period ?? currentPeriod()));
    expect(spend.held).toBe(0n);
    expect(spend.committed).toBe(calls.reduce((sum, call) => sum + BigInt(call.cost_nanos), 0n));
    // the dead worker's calls were at the slow emulator, so their answers came from its egress's journal
    const recovered = workers
      .map((worker) => worker.output().split('recovered from the egress journal').length - 1)
      .reduce((sum, n) => sum + n, 0);
    expect(recovered).toBeGreaterThan(0);

    console.log(
      `worker-crash test: killed ${victim.name} after it claimed ${claimed} call(s); ${results.length} requests ok; ` +
        `${calls.length} calls billed upstream, each booked once at its cost; ${recovered} answer(s) booked ` +
        `from the dead worker's egress journal; 0 unknown.`,
    );
  }, 240_000);
});

function currentPeriod(): string {
  return new Date().toISOString().slice(0, 7);
}
