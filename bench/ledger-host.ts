/**
 * `npm run bench:ledger-host`: the ledger host alone. A fresh PGlite folder served by a real ledger host
 * process (ledger/host), driven through `pg` the way the worker and gateway drive it, against the same
 * statements on a PGlite opened in this process. It prints, per path: a parameterised statement's round
 * trip at concurrency 1, a transaction of a few statements (the authorize step's shape) at concurrency 1,
 * and throughput of both at concurrency 8; then the host process's RSS and CPU over the run.
 *
 * Flags: `--statements N` (per measurement, default 2000), `--seconds S` (a sustained load phase after the
 * measurements, default 0: none; the host's RSS is sampled every second), `--json FILE`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openPglite } from '../ledger/driver-pglite';
import { findLedgerHost, openSocketClient } from '../ledger/driver-socket';
import { startLedgerHost } from '../ledger/host/spawn';
import type { SqlClient } from '../ledger/sql';
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

async function suite(path: string, sql: SqlClient, count: number): Promise<Figure[]> {
  await sql.exec(SETUP);
  for (let i = 0; i < 200; i++) await statement(sql, i); // warm-up
  return [
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
    const inProcess = await openPglite({ dataDir: join(root, 'direct', 'ledger') });
    figures.push(...(await suite('PGlite in this process', inProcess, count)));
    await inProcess.close();

    const host = await startLedgerHost(join(root, 'hosted', 'ledger'));
    const running = await findLedgerHost(join(root, 'hosted', 'ledger'));
    if (!running) throw new Error('the ledger host did not publish its endpoint');
    const sql = await openSocketClient(running, { poolSize: 8 });
    const cpuBefore = cpuSecondsOf(host.pid);
    figures.push(...(await suite('ledger host through pg', sql, count)));
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
          while (performance.now() < until) await (i % 3 === 0 ? transaction(sql, i++) : statement(sql, i++));
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
    await sql.close();
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
