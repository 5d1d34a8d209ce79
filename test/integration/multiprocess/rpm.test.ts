// Three `groq-governor worker` processes share Groq's org limit of 120 requests per minute for one model
// through the PostgreSQL ledger. 200 concurrent requests through the gateway all succeed, the emulator
// (which enforces the same 120 RPM as a refilling bucket) never answers 429, no 60 s window at the
// emulator holds more than 120 calls, and the ledger bills exactly what the emulator billed.
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  boundedAll,
  maxInWindow,
  postgresOrWarn,
  startDeployment,
  type Deployment,
} from '../../support/multiprocess';
import { deploymentConfig } from '../../support/deployment-config';

const MODEL = 'llama-3.1-8b-instant';
const RPM = 120;
const REQUESTS = 200;

const CONFIG = deploymentConfig({
  org: 'Multiprocess RPM',
  teams: [{ name: 'load', keyName: 'load-test-gateway', secretEnv: 'GG_MP_RPM_KEY_LOAD' }],
  groqRpm: RPM,
});

const postgres = await postgresOrWarn('MULTIPROCESS RPM TEST');

describe.skipIf(postgres.error !== null)('three worker processes share one RPM limit', () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await startDeployment(postgres.url, { configYaml: CONFIG, workers: 3 });
  }, 180_000);
  afterAll(async () => {
    await deployment?.close();
  }, 60_000);

  it(`${REQUESTS} concurrent requests: all succeed, no 429 upstream, at most ${RPM} in any 60 s`, async () => {
    const { emulator, ledger, gateway } = deployment;
    const key = await deployment.issueMemberKey('load');
    const groq = new Groq({ baseURL: gateway.url, apiKey: key, maxRetries: 0, timeout: 240_000 });
    const results = await boundedAll(
      50,
      Array.from({ length: REQUESTS }, (_, n) => async () => {
        try {
          const completion = await groq.chat.completions.create({
            model: MODEL,
            messages: [{ role: 'user', content: `request ${n}: say something short` }],
            max_completion_tokens: 16,
          });
          return { ok: true as const, id: completion.id };
        } catch (error) {
          return { ok: false as const, error: String(error) };
        }
      }),
    );
    const failures = results.filter((r) => !r.ok);
    expect(failures, JSON.stringify(failures.slice(0, 5))).toEqual([]);

    const statuses: Record<string, number> = {};
    for (const entry of Object.values(emulator.requestLog().keys)) {
      for (const minute of entry.minutes) {
        for (const [status, count] of Object.entries(minute.statuses)) {
          statuses[status] = (statuses[status] ?? 0) + count;
        }
      }
    }
    const calls = emulator.billedCalls();
    const worst = maxInWindow(
      calls.map((call) => call.at),
      60_000,
    );
    const span = calls.length ? Math.max(...calls.map((c) => c.at)) - Math.min(...calls.map((c) => c.at)) : 0;
    console.log(
      `rpm test: ${results.length} requests ok (${calls.length - REQUESTS} called upstream twice), emulator statuses ${JSON.stringify(statuses)}, ` +
        `${calls.length} billed calls over ${(span / 1000).toFixed(1)} s, max ${worst} in any 60 s window`,
    );
    // the limiter's own view: admissions (ledger clock) and how long after its admission each call went out
    const admissions = await ledger.sql.query(
      `SELECT u.request_id, u.attempt, u.outcome, u.upstream_request_id,
              (EXTRACT(EPOCH FROM u.started_at) * 1000)::bigint AS started, a.at
         FROM usage_records u
         LEFT JOIN rate_admissions a ON a.bucket = $1 AND a.lease_id = u.request_id || '#' || u.attempt`,
      [`model:${MODEL}`],
    );
    const admittedAt = admissions.rows.filter((r) => r.at !== null).map((r) => Number(r.at));
    const delays = admissions.rows
      .filter((r) => r.at !== null)
      .map((r) => Number(r.started) - Number(r.at))
      .sort((a, b) => a - b);
    const outcomes: Record<string, number> = {};
    for (const row of admissions.rows)
      outcomes[String(row.outcome)] = (outcomes[String(row.outcome)] ?? 0) + 1;
    console.log(
      `ledger: usage outcomes ${JSON.stringify(outcomes)}, max ${maxInWindow(admittedAt, 61_000)} admissions ` +
        `in any 61 s; admission-to-call delay ms: median ${delays[delays.length >> 1]}, ` +
        `p95 ${delays[Math.floor(delays.length * 0.95)]}, max ${delays[delays.length - 1]}`,
    );
    expect(maxInWindow(admittedAt, 61_000)).toBeLessThanOrEqual(RPM);
    expect(statuses['429'] ?? 0).toBe(0);
    // a request may reach Groq more than once when a workflow task is lost after its call (local
    // activities run again); every such call is a separate, billed and booked attempt
    expect(calls.length).toBeGreaterThanOrEqual(REQUESTS);
    expect(statuses['200']).toBe(calls.length);
    // Groq sees each call a little after its admission (median tens of ms, under a second even on a
    // loaded machine). Admissions count 61 s (a 1 s guard band), so no 60 s window at the emulator
    // holds more than the limit. A fixed-window limiter would show up to twice the limit here.
    expect(worst).toBeLessThanOrEqual(RPM);

    const success = admissions.rows.filter((r) => r.outcome === 'success');
    const booked = new Set(success.map((r) => String(r.upstream_request_id)));
    expect(calls.filter((call) => !booked.has(call.request_id)).map((c) => c.request_id)).toEqual([]);
    const usage = await ledger.sql.query(
      `SELECT COUNT(*) AS n, COALESCE(SUM(cost_nanos), 0) AS cost FROM usage_records WHERE outcome = 'success'`,
    );
    const billed = calls.reduce((sum, call) => sum + BigInt(call.cost_nanos), 0n);
    expect(BigInt(String(usage.rows[0]?.cost))).toBe(billed);
    expect(Number(usage.rows[0]?.n)).toBe(calls.length);
    expect(BigInt(emulator.billing().totals.cost_nanos)).toBe(billed);
  }, 240_000);
});
