/**
 * `npm run bench:ledger-path`: the two statements of a governed completion's happy path, alone and at a
 * steady rate: `governor_authorize` (policy, reservation, admission and the call's claim) and
 * `governor_book_completion` (settlement, usage row, Groq's headers, the token correction and the
 * lease's end), through `authorizeFast` and `bookCompletion` as the worker sends them, one request after
 * the other. The requests' times advance by 1/rate s each (simulated: no waiting), so the sliding log
 * fills to its kept two minutes and is pruned as under a steady load of that rate. Prints the mean and
 * p50/p95 of each statement over the requests before the log is full and over those after (the steady
 * state), the process's CPU per request (PGlite runs in this process) and the log's rows at the end.
 *
 * Modes: PGlite in this process on a temporary data folder (always), and with `--postgres` a fresh
 * database on the PostgreSQL at 127.0.0.1:5432 (dropped at the end).
 *
 *   npm run bench:ledger-path -- [--requests 12000] [--rate 60] [--postgres] [--json FILE]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { authorizeFast } from '../ledger/authorize-fast';
import { bookCompletion } from '../ledger/completion-path';
import { openPglite } from '../ledger/driver-pglite';
import { openPostgres } from '../ledger/driver-postgres';
import { migrate } from '../ledger/migrate';
import { LOG_KEEP_MS, modelBucket } from '../ledger/ratelimit';
import type { SqlClient } from '../ledger/sql';
import { writeJsonFigures } from './overhead-json';
import { percentile } from './overhead-load';
import { createFreshDatabase } from './overhead-postgres';
import { table } from './support';

const MODEL = 'llama-3.1-8b-instant';
const TEAM = 'chatbot';
const PERIOD = '2026-12';
/** far above what the run admits: the statements always grant */
const ROOM = 10n ** 15n;

interface Stats {
  n: number;
  mean: number;
  p50: number;
  p95: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, mean, p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
}

interface ModeResult {
  mode: 'pglite' | 'postgres';
  filling: { authorize: Stats; book: Stats };
  steady: { authorize: Stats; book: Stats };
  /** this process's CPU per request over the steady part (with PGlite: the database's work too) */
  processCpuMsPerRequest: number;
  logRowsAtEnd: number;
}

async function runMode(
  mode: ModeResult['mode'],
  db: SqlClient,
  requests: number,
  rate: number,
): Promise<ModeResult> {
  await migrate(db);
  await db.query(
    `INSERT INTO gateway_keys (id, prefix, secret_hash, team, role, name, created_by)
     VALUES ('bench-key', 'bench-prefix', repeat('a', 64), $1, 'member', 'bench', 'bench:ledger-path')`,
    [TEAM],
  );
  const step = 1000 / rate;
  const start = Date.UTC(2026, 11, 7, 12);
  const full = Math.ceil(LOG_KEEP_MS / step);
  const filling = { authorize: [] as number[], book: [] as number[] };
  const steady = { authorize: [] as number[], book: [] as number[] };
  let cpuAtSteady: NodeJS.CpuUsage | undefined;
  for (let i = 0; i < requests; i++) {
    if (i === full) cpuAtSteady = process.cpuUsage();
    const now = Math.round(start + i * step);
    const id = `bench-${i}`;
    const t0 = performance.now();
    const outcome = await authorizeFast(db, {
      keyId: 'bench-key',
      team: TEAM,
      roles: ['member'],
      model: MODEL,
      now,
      period: PERIOD,
      teamLimit: ROOM,
      orgLimit: ROOM,
      reservationId: id,
      requestId: id,
      amount: 2_000n,
      leaseId: id,
      tokens: 60,
      leaseTtlMs: 120_000,
      claimer: 'bench-worker',
      buckets: [
        { key: `team:${TEAM}`, limits: { rpm: 1e9, tpm: 1e12, concurrency: 1e6 } },
        { key: modelBucket(MODEL), limits: { rpm: 1e9, tpm: 1e12, rpd: 1e12, tpd: 1e15 } },
      ],
    });
    const t1 = performance.now();
    if (outcome !== 'claimed') throw new Error(`request ${i}: governor_authorize answered ${outcome}`);
    const booked = await bookCompletion(db, {
      reservationId: id,
      cost: 1_500n,
      leaseId: id,
      actualTokens: 40,
      model: MODEL,
      now: now + 20,
      headers: {
        'x-ratelimit-limit-tokens': '1000000',
        'x-ratelimit-remaining-tokens': '999000',
        'x-ratelimit-reset-tokens': '60ms',
        'x-ratelimit-limit-requests': '14400',
        'x-ratelimit-remaining-requests': '14000',
        'x-ratelimit-reset-requests': '2m',
      },
      usage: {
        requestId: id,
        attempt: 0,
        period: PERIOD,
        team: TEAM,
        model: MODEL,
        keyName: `${TEAM}-dev-bench`,
        keyVersion: 1,
        gatewayKeyId: 'bench-key',
        reservationId: id,
        promptTokens: 24,
        completionTokens: 16,
        cachedTokens: 0,
        costNanos: 1_500n,
        batch: false,
        upstreamRequestId: `req_${i}`,
        httpStatus: 200,
        outcome: 'success',
        startedAt: new Date(now),
        finishedAt: new Date(now + 20),
      },
    });
    const t2 = performance.now();
    if (!booked.booked) throw new Error(`request ${i}: not booked`);
    const into = i < full ? filling : steady;
    into.authorize.push(t1 - t0);
    into.book.push(t2 - t1);
  }
  const cpu = cpuAtSteady ? process.cpuUsage(cpuAtSteady) : undefined;
  const rows = await db.query('SELECT count(*)::int AS n FROM rate_admissions');
  const booked = await db.query(
    `SELECT committed_nanos, held_nanos FROM budgets WHERE scope = $1 AND period = $2`,
    [`team:${TEAM}`, PERIOD],
  );
  const row = booked.rows[0];
  if (String(row?.committed_nanos) !== String(1_500n * BigInt(requests)) || String(row?.held_nanos) !== '0')
    throw new Error(`the team's budget row is off: ${JSON.stringify(row, (_k, v: unknown) => String(v))}`);
  return {
    mode,
    filling: { authorize: stats(filling.authorize), book: stats(filling.book) },
    steady: { authorize: stats(steady.authorize), book: stats(steady.book) },
    processCpuMsPerRequest:
      cpu && steady.book.length > 0 ? (cpu.user + cpu.system) / 1000 / steady.book.length : Number.NaN,
    logRowsAtEnd: Number(rows.rows[0]?.n),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '12000' },
      rate: { type: 'string', default: '60' },
      postgres: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
    strict: true,
  });
  const requests = Number(values.requests);
  const rate = Number(values.rate);
  if (!Number.isSafeInteger(requests) || requests <= 0)
    throw new Error('--requests takes a whole number > 0');
  if (!Number.isFinite(rate) || rate <= 0) throw new Error('--rate takes a number > 0');
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(
    `${requests} requests at a simulated ${rate}/s (the log holds its ${LOG_KEEP_MS / 1000} s after ` +
      `${Math.ceil(LOG_KEEP_MS / (1000 / rate))}), one after the other`,
  );

  const results: ModeResult[] = [];
  const folder = mkdtempSync(join(tmpdir(), 'ledger-path-'));
  try {
    const db = await openPglite({ dataDir: folder });
    try {
      results.push(await runMode('pglite', db, requests, rate));
    } finally {
      await db.close();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  if (values.postgres) {
    const fresh = await createFreshDatabase();
    try {
      const db = await openPostgres({ url: fresh.url });
      try {
        results.push(await runMode('postgres', db, requests, rate));
      } finally {
        await db.close();
      }
    } finally {
      await fresh.drop();
    }
  }

  const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(3) : '-');
  out();
  out('ms per statement (client side: the round trip and the commit included)');
  out(
    table(
      ['mode', 'part', 'requests', 'authorize mean', 'p50', 'p95', 'booking mean', 'p50', 'p95'],
      results.flatMap((result) =>
        (['filling', 'steady'] as const).map((part) => {
          const { authorize: a, book: b } = result[part];
          return [
            result.mode,
            part === 'filling' ? 'log filling' : 'steady (log full)',
            String(a.n),
            ms(a.mean),
            ms(a.p50),
            ms(a.p95),
            ms(b.mean),
            ms(b.p50),
            ms(b.p95),
          ];
        }),
      ),
    ),
  );
  out();
  for (const result of results)
    out(
      `${result.mode}: this process's CPU ${ms(result.processCpuMsPerRequest)} ms per request at steady state` +
        `${result.mode === 'pglite' ? ' (PGlite in it)' : ' (not the server)'}; ${result.logRowsAtEnd} log rows at the end`,
    );
  if (values.json) {
    writeJsonFigures(values.json, {
      date: new Date().toISOString(),
      requests,
      rate,
      results: results.map((result) => ({
        mode: result.mode,
        authorize_mean_ms_steady: result.steady.authorize.mean,
        book_mean_ms_steady: result.steady.book.mean,
        authorize_mean_ms_filling: result.filling.authorize.mean,
        book_mean_ms_filling: result.filling.book.mean,
        process_cpu_ms_per_request_steady: result.processCpuMsPerRequest,
        log_rows_at_end: result.logRowsAtEnd,
        filling: result.filling,
        steady: result.steady,
      })),
    });
    out(`Figures written to ${values.json}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench:ledger-path failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
