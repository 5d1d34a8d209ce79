/**
 * `npm run bench:ledger-host`: the ledger host alone. A fresh ledger folder served by a real ledger host
 * process (ledger/host), driven through `pg` the way the worker and gateway drive it, against the same
 * work on a PGlite opened in this process. It prints, per path, at concurrency 1 and 8: a governed
 * completion's ledger work on the happy path (the store's authorize transaction, reservation and
 * admission, then its booking transaction), a parameterised primary-key read, and a transaction of six
 * small statements; then the host process's CPU over the hosted runs, its RSS, and the tables' live and
 * dead rows (a PGlite has no autovacuum).
 *
 * Flags: `--statements N` (reads per measurement, default 2000; a tenth as governed work, a quarter as
 * transactions), `--seconds S` (then S seconds of governed work and transactions on 8 connections, the
 * host's RSS sampled every second; default 0: none), `--json FILE`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findLedgerHost } from '../ledger/driver-socket';
import { startLedgerHost } from '../ledger/host/spawn';
import { openLedger } from '../ledger/open';
import type { SqlClient } from '../ledger/sql';
import type { LedgerStore } from '../ledger/store';
import { readEntry } from './overhead-procs';

const cpuSecondsOf = (pid: number) => readEntry(pid)?.cpuSeconds ?? 0;
const rssBytesOf = (pid: number) => readEntry(pid)?.rssBytes ?? 0;

const SETUP = `
  CREATE TABLE IF NOT EXISTS bench_rows (id text PRIMARY KEY, n bigint NOT NULL, at timestamptz DEFAULT now());
  CREATE TABLE IF NOT EXISTS bench_log (id bigserial PRIMARY KEY, k text NOT NULL, v bigint NOT NULL);
  INSERT INTO bench_rows (id, n) SELECT 'row-' || g, 0 FROM generate_series(1, 64) g ON CONFLICT DO NOTHING;
`;

let seq = 0;
/** one parameterised statement, as the store sends them */
const statement = (sql: SqlClient, i: number) =>
  sql.query('SELECT id, n FROM bench_rows WHERE id = $1', [`row-${(i % 64) + 1}`]);

/** a transaction of four statements with writes: lock, update, log insert, read back */
const transaction = (sql: SqlClient, i: number) =>
  sql.transaction(async (tx) => {
    const id = `row-${(i % 64) + 1}`;
    await tx.query('SELECT n FROM bench_rows WHERE id = $1 FOR UPDATE', [id]);
    await tx.query('UPDATE bench_rows SET n = n + $2, at = now() WHERE id = $1', [id, 1]);
    await tx.query('INSERT INTO bench_log (k, v) VALUES ($1, $2)', [id, ++seq]);
    await tx.query('DELETE FROM bench_log WHERE k = $1 AND id < (SELECT max(id) - 50 FROM bench_log)', [id]);
  });

const HUGE = {
  rpm: 100_000_000,
  tpm: 1_000_000_000,
  rpd: 1_000_000_000,
  tpd: 1_000_000_000_000,
  concurrency: 100_000,
};
let governed = 0;
/**
 * A governed completion's ledger work on the happy path, with the store's own statements: the
 * authorize transaction (reservation and admission) and the booking transaction.
 */
async function governedLedgerWork(store: LedgerStore): Promise<void> {
  const id = `bench-${process.pid}-${++governed}`;
  const model = 'llama-3.1-8b-instant';
  const now = Date.now();
  await store.transaction(async (tx) => {
    await tx.reserve({
      reservationId: id,
      requestId: id,
      team: 'chatbot',
      period: '2026-12',
      amount: 1_000n,
      teamLimit: 1_000_000_000_000n,
      orgLimit: null,
    });
    await tx.tryAcquire({
      buckets: ['org', 'team:chatbot', `model:${model}`].map((key) => ({ key, limits: HUGE })),
      tokens: 100,
      now,
      leaseId: id,
      leaseTtlMs: 60_000,
    });
  });
  await store.bookCompletion({
    reservationId: id,
    cost: 42n,
    usage: {
      requestId: id,
      attempt: 1,
      period: '2026-12',
      team: 'chatbot',
      model,
      keyName: 'primary',
      keyVersion: 1,
      reservationId: id,
      promptTokens: 10,
      completionTokens: 5,
      costNanos: 42n,
      outcome: 'success',
      startedAt: new Date(now),
      finishedAt: new Date(),
    },
    leaseId: id,
    actualTokens: 15,
    model,
    headers: new Headers(),
    now: Date.now(),
  });
}

interface Figure {
  path: string;
  what: string;
  concurrency: number;
  count: number;
  perOpMs: number;
  perSecond: number;
}

async function measure(
  path: string,
  what: string,
  concurrency: number,
  count: number,
  op: (i: number) => Promise<unknown>,
): Promise<Figure> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await op(next++);
    }),
  );
  const ms = performance.now() - started;
  return {
    path,
    what,
    concurrency,
    count,
    perOpMs: (ms / count) * concurrency,
    perSecond: (count / ms) * 1000,
  };
}

async function suite(path: string, store: LedgerStore, count: number): Promise<Figure[]> {
  const sql = store.sql;
  await sql.exec(SETUP);
  for (let i = 0; i < 200; i++) await statement(sql, i); // warm-up
  for (let i = 0; i < 20; i++) await governedLedgerWork(store);
  const work = Math.ceil(count / 10);
  return [
    await measure(path, 'governed ledger work', 1, work, () => governedLedgerWork(store)),
    await measure(path, 'governed ledger work', 8, work, () => governedLedgerWork(store)),
    await measure(path, 'statement', 1, count, (i) => statement(sql, i)),
    await measure(path, 'transaction (6 statements)', 1, Math.ceil(count / 4), (i) => transaction(sql, i)),
    await measure(path, 'statement', 8, count, (i) => statement(sql, i)),
    await measure(path, 'transaction (6 statements)', 8, Math.ceil(count / 4), (i) => transaction(sql, i)),
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      statements: { type: 'string', default: '2000' },
      seconds: { type: 'string', default: '0' },
      json: { type: 'string' },
    },
  });
  const count = Number(values.statements);
  const seconds = Number(values.seconds);
  const root = mkdtempSync(join(tmpdir(), 'gg-bench-host-'));
  const figures: Figure[] = [];
  const samples: Array<{ s: number; rssMb: number }> = [];
  let hostCpuS = 0;
  try {
    const inProcess = await openLedger({ dataDir: join(root, 'direct'), databaseUrl: null });
    figures.push(...(await suite('PGlite in this process', inProcess, count)));
    await inProcess.close();

    const host = await startLedgerHost(join(root, 'hosted', 'ledger'));
    const running = await findLedgerHost(join(root, 'hosted', 'ledger'));
    if (!running) throw new Error('the ledger host did not publish its endpoint');
    const store = await openLedger({ dataDir: join(root, 'hosted'), databaseUrl: null, poolSize: 8 });
    const sql = store.sql;
    const cpuBefore = cpuSecondsOf(host.pid);
    figures.push(...(await suite('ledger host through pg', store, count)));
    if (seconds > 0) {
      const until = performance.now() + seconds * 1000;
      const start = performance.now();
      const sampler = setInterval(
        () => samples.push({ s: (performance.now() - start) / 1000, rssMb: rssBytesOf(host.pid) / 2 ** 20 }),
        1000,
      );
      let i = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (performance.now() < until)
            await (i++ % 2 === 0 ? governedLedgerWork(store) : transaction(sql, i));
        }),
      );
      clearInterval(sampler);
    }
    hostCpuS = cpuSecondsOf(host.pid) - cpuBefore;
    const tables = await sql.query<{ relname: string; live: bigint; dead: bigint; bytes: bigint }>(
      `SELECT relname, n_live_tup AS live, n_dead_tup AS dead, pg_total_relation_size(relid) AS bytes
         FROM pg_stat_user_tables ORDER BY relname`,
    );
    const rssMb = rssBytesOf(host.pid) / 2 ** 20;
    await store.close();
    await host.stop();

    console.log('\npath                      operation                   conc  count  ms/op   ops/s');
    for (const f of figures)
      console.log(
        `${f.path.padEnd(25)} ${f.what.padEnd(27)} ${String(f.concurrency).padStart(4)} ${String(f.count).padStart(6)} ${f.perOpMs.toFixed(3).padStart(6)} ${f.perSecond.toFixed(0).padStart(7)}`,
      );
    console.log(
      `\nledger host: CPU ${hostCpuS.toFixed(1)} s over the hosted runs; RSS at the end ${rssMb.toFixed(0)} MB`,
    );
    if (samples.length > 0)
      console.log(
        `sustained ${seconds} s at 8 connections: host RSS ${samples.map((p) => p.rssMb.toFixed(0)).join(' ')} MB (every second)`,
      );
    console.log(
      `tables: ${tables.rows.map((t) => `${t.relname} ${t.live} live, ${t.dead} dead, ${Number(t.bytes) >> 10} kB`).join('; ')}`,
    );
    if (values.json)
      writeFileSync(
        values.json,
        `${JSON.stringify({ figures, hostCpuS, hostRssMb: rssMb, samples }, null, 2)}\n`,
      );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
