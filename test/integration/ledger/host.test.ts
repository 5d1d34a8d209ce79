/**
 * The ledger host (ledger/host): one process owns an embedded PGlite folder and serves it over the
 * PostgreSQL wire protocol; every other opener joins it with the `pg` driver. Clients never interleave
 * inside PGlite, budgets hold across 8 processes through the socket exactly as on PostgreSQL, a host
 * killed with SIGKILL leaves nothing that blocks the next one, and long folder paths use a loopback port.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { processAlive, readOwner } from '../../../ledger/data-dir-owner';
import { LEDGER_HOST_EXEC_ARGV, startLedgerHost, type LedgerHostHandle } from '../../../ledger/host/spawn';
import { listenAddressFor } from '../../../ledger/host/address';
import { serveLedger, type LedgerServer } from '../../../ledger/host/server';
import { openLedger } from '../../../ledger/open';
import { bootstrapOrgAdmin, GatewayKeyError } from '../../../client/services/gateway-keys';
import { startWorker, type Worker } from './child-workers';

const folders: string[] = [];
function folder(prefix = 'gg-host-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('the wire server serializes its clients', () => {
  let db: PGlite;
  let server: LedgerServer;
  const clients: pg.Client[] = [];
  const connect = async (password = 'secret') => {
    if (!('path' in server.address)) throw new Error('expected a socket');
    const client = new pg.Client({
      host: join(server.address.path, '..'),
      port: 5432,
      user: 'postgres',
      database: 'postgres',
      password,
    });
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  };
  const start = async () => {
    db = await PGlite.create();
    server = await serveLedger(db, { listen: { path: join(folder(), '.s.PGSQL.5432') }, password: 'secret' });
    await (await connect()).query('CREATE TABLE t (n int)');
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
    await server.close();
    await db.close();
  });

  it("holds a transaction's connection exclusively until it commits", async () => {
    await start();
    const [a, b] = [await connect(), await connect()];
    await a.query('BEGIN');
    await a.query('INSERT INTO t VALUES (1)');
    let seen: number | undefined;
    const read = b.query<{ n: number }>('SELECT count(*)::int AS n FROM t').then((r) => {
      seen = r.rows[0]?.n;
    });
    // A's further statements run while B waits: B cannot have run in between
    await a.query('INSERT INTO t VALUES (2)');
    await a.query('SELECT pg_sleep(0.05)');
    expect(seen).toBeUndefined();
    await a.query('COMMIT');
    await read;
    expect(seen).toBe(2);
  });

  it('never mixes the extended-protocol queries of concurrent clients', async () => {
    await start();
    const connections = await Promise.all(Array.from({ length: 8 }, () => connect()));
    // every client runs its queries one after another; the clients run at once
    const answers = await Promise.all(
      connections.map(async (client, c) => {
        const rows: unknown[] = [];
        for (let i = 0; i < 40; i++) {
          const result = await client.query('SELECT $1::text AS v, $2::int * 2 AS w', [
            `${c}-${i}`,
            c * 1000 + i,
          ]);
          rows.push(result.rows[0]);
        }
        return rows;
      }),
    );
    answers.forEach((rows, c) => {
      rows.forEach((row, i) => expect(row).toEqual({ v: `${c}-${i}`, w: (c * 1000 + i) * 2 }));
    });
  });

  it('rolls back what a vanished connection left open, and a failed transaction stays its own', async () => {
    await start();
    const [a, b] = [await connect(), await connect()];
    await a.query('BEGIN');
    await a.query('SELECT 1/0').catch(() => undefined);
    // B waits while A's transaction is failed and open; A ends it
    const counted = b.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    await a.query('ROLLBACK');
    expect((await counted).rows[0]?.n).toBe(0);

    const c = await connect();
    await c.query('BEGIN');
    await c.query('INSERT INTO t VALUES (3)');
    (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    expect((await b.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0]?.n).toBe(0);
  });

  it('refuses a wrong password', async () => {
    await start();
    await expect(connect('wrong')).rejects.toThrow(/password authentication failed/);
  });
});

describe('a ledger host serving a data folder', () => {
  const hosts: LedgerHostHandle[] = [];
  const workers: Worker[] = [];
  afterAll(async () => {
    for (const worker of workers) worker.child.kill();
    for (const host of hosts) await host.stop();
  });

  it('8 processes reserving through the socket at once reserve exactly what the budget fits (50 of 200)', async () => {
    const dataDir = folder();
    const host = await startLedgerHost(join(dataDir, 'ledger'));
    hosts.push(host);
    expect(host.address).toBe(join(dataDir, '.s.PGSQL.5432'));
    const amount = 7_777_777n;
    const job = {
      dataDir,
      count: 25,
      period: '2026-11',
      team: 'chatbot',
      amount: amount.toString(),
      teamLimit: (amount * 50n).toString(),
      bucket: 'model:llama-3.1-8b-instant',
      rpm: 37,
      now: Date.UTC(2026, 10, 2, 10, 0, 1),
    };
    for (let n = 0; n < 8; n++) workers.push(startWorker({ ...job, worker: n }));
    for (const worker of workers) expect(await worker.next()).toHaveProperty('loaded');
    for (const worker of workers) worker.send('open');
    const migrated = await Promise.all(workers.map((worker) => worker.next()));
    // one of them migrated the new folder, the others found it current
    expect(migrated.filter((m) => (m.migrated as number[]).length > 0)).toHaveLength(1);
    for (const worker of workers) worker.send('go');
    const results = await Promise.all(workers.map((worker) => worker.next()));
    expect(results.reduce((sum, r) => sum + Number(r.reserved), 0)).toBe(50);
    expect(results.reduce((sum, r) => sum + Number(r.admitted), 0)).toBe(37);

    const ledger = await openLedger({ dataDir, databaseUrl: null });
    try {
      expect(ledger.driver).toBe('pglite');
      expect((await ledger.getTeamSpend('chatbot', '2026-11')).held).toBe(amount * 50n);
      // the lock (advisory on PostgreSQL) excludes across clients of the host too: one bootstrap wins
      const outcomes = await Promise.allSettled([bootstrapOrgAdmin(ledger), bootstrapOrgAdmin(ledger)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((o) => o.status === 'rejected');
      expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(GatewayKeyError);
    } finally {
      await ledger.close();
    }
  });

  it('after SIGKILL of the host the next one starts on the same folder, and nothing committed is lost', async () => {
    const dataDir = folder();
    const ledgerDir = join(dataDir, 'ledger');
    const first = await startLedgerHost(ledgerDir);
    const before = await openLedger({ dataDir, databaseUrl: null });
    await before.reserve({
      reservationId: 'kept',
      requestId: 'kept',
      team: 'chatbot',
      period: '2026-11',
      amount: 123n,
      teamLimit: 1_000n,
      orgLimit: null,
    });
    await before.close();
    const exited = new Promise((resolve) => {
      const poll = setInterval(() => {
        try {
          process.kill(first.pid, 0);
        } catch {
          clearInterval(poll);
          resolve(undefined);
        }
      }, 50);
    });
    process.kill(first.pid, 'SIGKILL');
    await exited;
    // the dead host's lock and socket are still there
    expect((await readOwner(ledgerDir))?.pid).toBe(first.pid);
    expect(existsSync(join(dataDir, '.s.PGSQL.5432'))).toBe(true);

    const second = await startLedgerHost(ledgerDir);
    hosts.push(second);
    expect(second.started).toBe(true);
    expect(second.pid).not.toBe(first.pid);
    const after = await openLedger({ dataDir, databaseUrl: null });
    try {
      expect((await after.getTeamSpend('chatbot', '2026-11')).held).toBe(123n);
    } finally {
      await after.close();
    }
    await second.stop();
    // a clean stop leaves no lock; the folder opens in-process again
    expect(await readOwner(ledgerDir)).toBeNull();
    const direct = await openLedger({ dataDir, databaseUrl: null });
    expect((await direct.getTeamSpend('chatbot', '2026-11')).held).toBe(123n);
    await direct.close();
  });

  it('the host stops when the process that started it dies (kill -9 of up)', async () => {
    const dataDir = folder();
    const ledgerDir = join(dataDir, 'ledger');
    const script = `
      import { startLedgerHost } from './ledger/host/spawn.ts';
      const host = await startLedgerHost(process.argv[1]);
      console.log(JSON.stringify({ pid: host.pid }));
      setInterval(() => undefined, 1000);`;
    const parent = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, ledgerDir],
      {
        cwd: new URL('../../..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const hostPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve((JSON.parse(line) as { pid: number }).pid);
      });
      parent.once('exit', (code) => reject(new Error(`parent exited ${code}: ${out}`)));
    });
    parent.kill('SIGKILL');
    // the orphaned host notices, closes PGlite, removes its lock and exits
    while (processAlive(hostPid)) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await readOwner(ledgerDir)).toBeNull();
    const next = await startLedgerHost(ledgerDir);
    hosts.push(next);
    expect(next.started).toBe(true);
  });

  it('a lock left by a process that is gone does not block a start', async () => {
    const dataDir = folder();
    const ledgerDir = join(dataDir, 'ledger');
    await writeFile(
      `${ledgerDir}.lock`,
      JSON.stringify({ pid: 2147483646, endpoint: { host: dataDir, port: 5432, password: 'x' } }),
    );
    const host = await startLedgerHost(ledgerDir);
    hosts.push(host);
    expect(host.started).toBe(true);
    expect((await readOwner(ledgerDir))?.pid).toBe(host.pid);
  });

  it("runs with the host's V8 flags (a small young generation), not this process's", async () => {
    const host = await startLedgerHost(join(folder(), 'ledger'));
    hosts.push(host);
    const argv = (await readFile(`/proc/${host.pid}/cmdline`, 'utf8')).split('\0');
    const flags = argv.slice(
      1,
      argv.findIndex((arg) => arg.endsWith('entry.mjs')),
    );
    expect(flags).toEqual(LEDGER_HOST_EXEC_ARGV);
    expect(LEDGER_HOST_EXEC_ARGV).toContain('--max-semi-space-size=2');
  });

  it('serves on a loopback port when the folder path is too long for a Unix socket', async () => {
    const dataDir = join(folder(), 'a-data-folder-with-a-long-name'.repeat(4));
    const ledgerDir = join(dataDir, 'ledger');
    expect(listenAddressFor(ledgerDir)).toEqual({ host: '127.0.0.1', port: 0 });
    const host = await startLedgerHost(ledgerDir);
    hosts.push(host);
    expect(host.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const ledger = await openLedger({ dataDir, databaseUrl: null });
    expect(ledger.migrations.current).toBeGreaterThan(0);
    await ledger.close();
  });
});
