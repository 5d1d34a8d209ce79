// A 2,000-line realtime batch while worker processes are killed with SIGKILL three times, each time
// with Groq calls of batch items in flight. The batch still ends `completed`, every custom_id is in the
// output exactly once with its completion, and the ledger equals the emulator's bill item for item: Groq
// billed exactly one call per item, each booked once at exactly its billed cost, nothing held as unknown.
// The calls in flight when a worker dies are finished by its egress process, which journals their
// answers; the items' next runs book those answers instead of calling Groq again (workers/egress).
// Separate `groq-governor worker` processes on one PostgreSQL ledger.
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EGRESS_CLAIM_SUFFIX } from '../../../domain/egress';
import { postgresOrWarn, startDeployment, type Deployment } from '../../support/multiprocess';
import { fileLines, jsonl, upload, waitForBatch } from '../batches/support';

const MODEL = 'llama-3.1-8b-instant';
const LINES = 2_000;
const KILLS = 3;

const CONFIG = `
org:
  name: Batch crash
  monthlyCapUsd: '1000'
  timezone: UTC
groq:
  limits:
    ${MODEL}: { rpm: 1000000, rpd: 10000000, tpm: 100000000, tpd: 1000000000 }
pricing:
  models:
    ${MODEL}: { input: '0.05', output: '0.08' }
upstreamKeys:
  - name: batch-crash-gateway
    secretEnv: GG_BATCH_CRASH_KEY
teams:
  crunch:
    allowedModels: [${MODEL}]
    maxTokensPerRequest: 64
    monthlyBudgetUsd: '100'
    rpm: 1000000
    tpm: 100000000
    concurrency: 1000
    upstreamKey: batch-crash-gateway
gateway:
  batchWindow: 24
  batchItemsPerRun: 400
`;

const postgres = await postgresOrWarn('BATCH SIGKILL TEST');

describe.skipIf(postgres.error !== null)('a realtime batch survives SIGKILLed workers', () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await startDeployment(postgres.url, { configYaml: CONFIG, workers: 2, latencyMs: 50 });
  }, 180_000);
  afterAll(async () => {
    await deployment?.close();
  }, 60_000);

  it(`${LINES} lines, ${KILLS} kills: completed, each custom_id once, ledger equal to the bill`, async () => {
    const { emulator, ledger, gateway, workers } = deployment;
    const groq = new Groq({
      baseURL: gateway.url,
      apiKey: await deployment.issueMemberKey('crunch'),
      maxRetries: 2,
    });
    const file = await upload(groq, jsonl(LINES, 'crash', { maxTokens: 32, completionTokens: 8 }));
    const batch = await groq.batches.create({
      input_file_id: file.id!,
      endpoint: '/v1/chat/completions',
      completion_window: '2h',
    });

    const kills: string[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      // wait for progress, then for a worker with batch calls in flight, and kill it
      const target = Math.floor((LINES * kill) / (KILLS + 2));
      const deadline = Date.now() + 240_000;
      for (;;) {
        const current = await groq.batches.retrieve(batch.id);
        if (current.request_counts!.completed >= target) break;
        if (!['validating', 'in_progress'].includes(current.status))
          throw new Error(`batch ${current.status} before kill ${kill}`);
        if (Date.now() > deadline) throw new Error(`no progress to ${target}: ${JSON.stringify(current)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const alive = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      let victim: (typeof alive)[number] | undefined;
      let inFlight = 0;
      while (!victim) {
        for (const worker of alive) {
          const { rows } = await ledger.sql.query(
            `SELECT count(*) AS n FROM budget_reservations
              WHERE request_id LIKE $1 AND state = 'held' AND call_claimed_by LIKE $2`,
            [`batch:${batch.id}:%`, `worker@%:${worker.child.pid}${EGRESS_CLAIM_SUFFIX}`],
          );
          inFlight = Number(rows[0]?.n);
          if (inFlight > 0) {
            victim = worker;
            break;
          }
        }
        if (Date.now() > deadline) throw new Error('no worker had batch calls in flight');
      }
      const exited = new Promise((resolve) => victim.child.once('exit', resolve));
      victim.child.kill('SIGKILL');
      await exited;
      kills.push(`${victim.name} with ${inFlight} call(s) in flight at ${target}+ done`);
      await deployment.startWorker();
    }

    const done = await waitForBatch(groq, batch.id, 480_000);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });

    // every custom_id exactly once in the output
    const output = await fileLines(groq, done.output_file_id!);
    expect(output).toHaveLength(LINES);
    const ids = new Set(output.map((line) => line.custom_id));
    expect(ids.size).toBe(LINES);
    for (let n = 0; n < LINES; n++) expect(ids.has(`crash-${n}`)).toBe(true);

    // every output line carries the completion Groq answered, recovered ones included
    for (const line of output) {
      const response = line.response as { status_code?: number; body?: { object?: string } } | null;
      expect(response?.status_code).toBe(200);
      expect(response?.body?.object).toBe('chat.completion');
    }

    // The ledger equals the emulator's bill for every item: Groq billed exactly one call per item, and
    // each is booked once, as a success, at exactly the billed cost. Nothing is held as unknown.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const billed = emulator.billedCalls();
    const { rows } = await ledger.sql.query(
      `SELECT u.request_id, u.attempt, u.outcome, u.cost_nanos, u.upstream_request_id, r.state, r.amount_nanos
         FROM usage_records u LEFT JOIN budget_reservations r ON r.id = u.reservation_id
        WHERE u.request_id LIKE $1`,
      [`batch:${batch.id}:%`],
    );
    const successes = rows.filter((row) => row.outcome === 'success');
    const perItem = new Map<string, number>();
    for (const row of successes)
      perItem.set(String(row.request_id), (perItem.get(String(row.request_id)) ?? 0) + 1);
    expect(perItem.size).toBe(LINES);
    expect([...perItem.values()].every((count) => count === 1)).toBe(true);
    expect(billed).toHaveLength(LINES);
    const booked = new Map(
      successes.map((row) => [String(row.upstream_request_id), BigInt(String(row.cost_nanos))]),
    );
    for (const call of billed) expect(booked.get(call.request_id)).toBe(BigInt(call.cost_nanos));
    const unknown = rows.filter((row) => row.outcome === 'unknown');
    expect(unknown).toHaveLength(0);
    const bookedTotal = successes.reduce((sum, row) => sum + BigInt(String(row.cost_nanos)), 0n);
    const billedTotal = billed.reduce((sum, call) => sum + BigInt(call.cost_nanos), 0n);
    expect(bookedTotal).toBe(billedTotal);
    expect((done as unknown as { x_governor: { spend_nanos: string } }).x_governor.spend_nanos).toBe(
      bookedTotal.toString(),
    );
    const held = await ledger.sql.query(
      `SELECT state, count(*) AS n FROM budget_reservations WHERE request_id LIKE $1 GROUP BY state`,
      [`batch:${batch.id}:%`],
    );
    const states = Object.fromEntries(held.rows.map((row) => [String(row.state), Number(row.n)]));
    expect(states.held ?? 0).toBe(0);
    expect(states.unknown ?? 0).toBe(0);
    console.log(
      `batch SIGKILL test: ${kills.join('; ')}. ${billed.length} calls billed upstream for ${LINES} items, ` +
        `${successes.length} booked as successes at the billed cost, 0 unknown ` +
        `(the calls in flight at each kill were finished by the dead worker's egress and booked from its journal); ` +
        `reservations by state ${JSON.stringify(states)}.`,
    );
  }, 600_000);
});
