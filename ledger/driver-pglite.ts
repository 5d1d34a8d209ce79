/**
 * PGlite driver: PostgreSQL compiled to WebAssembly, embedded in this process, persisted in a data folder
 * (or in memory for tests). It has exactly one connection, so every transaction runs alone: PGlite's own
 * transaction mutex serialises them and plain queries wait for an open transaction to finish. That makes
 * every transaction trivially serializable; no retries are ever needed. One data folder belongs to one
 * process at a time (its owner, named in a lock file: ./data-dir-owner.ts); other processes join the
 * folder through the ledger host that owns it (./host), or share a PostgreSQL server instead.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { claimDataDir } from './data-dir-owner';
import { LedgerError } from './errors';
import {
  DEFAULT_MAX_ATTEMPTS,
  Mutex,
  withRetries,
  PG_OID,
  parseInt8,
  parseNumeric,
  type SqlClient,
  type SqlQueryable,
  type SqlResult,
  type SqlSession,
} from './sql';

type PgliteRunner = Pick<PGlite, 'query' | 'exec'> | Transaction;

function queryable(runner: PgliteRunner): SqlQueryable {
  return {
    async query<R>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
      const result = await runner.query<R>(text, [...params]);
      return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length };
    },
    async exec(script: string): Promise<void> {
      await runner.exec(script);
    },
  };
}

export interface PgliteOptions {
  /** data folder; absent: in memory */
  dataDir?: string;
  /** how long to wait for another process that owns the folder to let go (default: not at all) */
  waitForOwnerMs?: number;
}

/**
 * Create a new data folder (PostgreSQL's initdb) in a short-lived child process. initdb grows PGlite's
 * WebAssembly memory to about 700 MB, which a process never gives back while it lives; done apart, the
 * serving process opens the finished folder and stays about 400 MB smaller. A folder that already
 * holds a database (PG_VERSION) is left alone. The caller holds the folder's lock file meanwhile.
 */
export async function initDataDirApart(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const code = `
    const { PGlite } = require(${JSON.stringify(entry)});
    PGlite.create({ dataDir: process.argv[1] }).then((db) => db.close()).catch((error) => {
      console.error(error);
      process.exit(1);
    });`;
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, ['-e', code, dataDir], (error, _stdout, stderr) => {
      if (error)
        reject(new Error(`creating the PGlite data folder ${dataDir} failed: ${stderr || error.message}`));
      else resolve();
    });
  });
}

/**
 * PostgreSQL's buffer cache inside PGlite's WebAssembly memory. The default, 128 MB, is touched at
 * start and stays in the process's RSS; the ledger's working set (budgets, rate buckets, the last
 * minutes of logs) is a small fraction of 16 MB, and pages read beyond it come from the OS file cache.
 */
const SHARED_BUFFERS = '16MB';

/** A PGlite on `dataDir` (in memory when absent) with the ledger's settings and type parsers. */
export function createPglite(dataDir?: string): Promise<PGlite> {
  return PGlite.create({
    ...(dataDir !== undefined ? { dataDir } : {}),
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`],
    parsers: { [PG_OID.INT8]: parseInt8, [PG_OID.NUMERIC]: parseNumeric },
  });
}

export async function openPglite(options: PgliteOptions = {}): Promise<SqlClient> {
  let unlock: () => Promise<void> = async () => undefined;
  if (options.dataDir !== undefined) {
    await mkdir(options.dataDir, { recursive: true });
    const claim = await claimDataDir(options.dataDir, {
      waitMs: options.waitForOwnerMs ?? 0,
      // a ledger host published its endpoint meanwhile: the caller joins it instead
      onHost: async () => true,
    });
    if (claim === null)
      throw new LedgerError(
        'data_dir_served',
        `the ledger data folder ${options.dataDir} is served by a ledger host`,
      );
    unlock = () => claim.release();
    try {
      await initDataDirApart(options.dataDir);
    } catch (error) {
      await unlock();
      throw error;
    }
  }
  let db: PGlite;
  try {
    db = await createPglite(options.dataDir);
  } catch (error) {
    await unlock();
    throw error;
  }
  const direct = queryable(db);
  const locks = new Map<bigint, Mutex>();

  const session: SqlSession = {
    query: direct.query,
    exec: direct.exec,
    // Isolation options are moot with a single connection: transactions already run one at a time.
    // A RetryTransaction thrown by the callback still rolls back and runs it again.
    transaction: (fn, opts) =>
      withRetries(opts?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, () => db.transaction((tx) => fn(queryable(tx)))),
  };

  return {
    driver: 'pglite',
    ...session,
    withLock<T>(key: bigint, fn: (session: SqlSession) => Promise<T>): Promise<T> {
      let mutex = locks.get(key);
      if (!mutex) {
        mutex = new Mutex();
        locks.set(key, mutex);
      }
      return mutex.run(() => fn(session));
    },
    async close(): Promise<void> {
      try {
        if (!db.closed) await db.close();
      } finally {
        await unlock();
        unlock = async () => undefined;
      }
    },
  };
}
