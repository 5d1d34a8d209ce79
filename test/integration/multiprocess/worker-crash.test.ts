// Two `groq-governor worker` processes; one is killed with SIGKILL while it has calls to a slow Groq in
// flight. Every request still completes (the surviving worker re-runs the workflow tasks once their
// timeout passes), and no upstream call goes unbilled: each call the emulator billed is either booked as
// a success with the same cost, or belongs to an attempt whose outcome is unknown and whose reservation
// is still charged (state `unknown`, counted in held) for at least that call's cost.
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresOrWarn, startDeployment, type Deployment } from '../../support/multiprocess';
import { deploymentConfig } from '../../support/deployment-config';

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

  it(`${REQUESTS} requests complete and every billed call is booked or held as unknown`, async () => {
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
    const claimer = `worker@%:${victim.child.pid}`;
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
    const unbooked = calls.filter((call) => !successByUpstreamId.has(call.request_id));
    for (const call of calls) {
      const booked = successByUpstreamId.get(call.request_id);
      if (booked !== undefined) expect(booked).toBe(BigInt(call.cost_nanos));
    }

    // the calls Groq billed that no success row names: each needs its own attempt still held as unknown
    const unknown = usage.rows.filter((r) => r.outcome === 'unknown');
    for (const row of unknown) expect(row.state).toBe('unknown');
    const holds = unknown.map((r) => BigInt(String(r.amount_nanos))).sort((a, b) => (a < b ? 1 : -1));
    const costs = unbooked.map((c) => BigInt(c.cost_nanos)).sort((a, b) => (a < b ? 1 : -1));
    expect(holds.length).toBeGreaterThanOrEqual(costs.length);
    costs.forEach((cost, n) => expect(holds[n]! >= cost).toBe(true));
    const heldUnknown = holds.reduce((sum, amount) => sum + amount, 0n);
    const spend = await ledger.getTeamSpend('crash', String(usage.rows[0]?.period ?? currentPeriod()));
    expect(spend.held).toBe(heldUnknown);

    console.log(
      `worker-crash test: killed ${victim.name} after it claimed ${claimed} call(s); ${results.length} requests ok; ` +
        `${calls.length} calls billed upstream, ${calls.length - unbooked.length} booked as success, ` +
        `${unbooked.length} not booked; ${unknown.length} attempt(s) unknown and still held ` +
        `(${heldUnknown} nanos):\n` +
        unknown
          .map(
            (r) =>
              `  unknown: ${String(r.request_id)}#${String(r.attempt)} holds ${String(r.amount_nanos)} nanos`,
          )
          .join('\n'),
    );
  }, 240_000);
});

function currentPeriod(): string {
  return new Date().toISOString().slice(0, 7);
}
