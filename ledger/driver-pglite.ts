/**
 * PGlite driver: PostgreSQL compiled to WebAssembly, embedded in this process, persisted in a data folder
 * (or in memory for tests). It has exactly one connection, so every transaction runs alone: PGlite's own
 * transaction mutex serialises them and plain queries wait for an open transaction to finish. That makes
 * every transaction trivially serializable; no retries are ever needed. One data folder belongs to one
 * process at a time (enforced with a lock file): several processes share a PostgreSQL server instead.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
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
}

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

/**
 * PGlite happily opens a data folder that another instance is using, and two instances writing one
 * folder corrupt it. A lock file next to the folder (`<dataDir>.lock`, holding the owner's pid) refuses
 * a second opener while the owner lives; a lock left by a dead process is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = `${dataDir}.lock`;
  await mkdir(dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      return () => rm(lockPath, { force: true });
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (processAlive(owner)) {
        throw new LedgerError(
          'data_dir_in_use',
          `the ledger data folder ${dataDir} is in use by process ${owner}${owner === process.pid ? ' (this one)' : ''}; ` +
            'PGlite serves one process: share a PostgreSQL server through DATABASE_URL instead',
        );
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new LedgerError('data_dir_in_use', `could not lock the ledger data folder ${dataDir}`);
}

export async function openPglite(options: PgliteOptions = {}): Promise<SqlClient> {
  let unlock: () => Promise<void> = async () => undefined;
  if (options.dataDir !== undefined) {
    await mkdir(options.dataDir, { recursive: true });
    unlock = await lockDataDir(options.dataDir);
  }
  let db: PGlite;
  try {
    db = await PGlite.create({
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      parsers: { [PG_OID.INT8]: parseInt8, [PG_OID.NUMERIC]: parseNumeric },
    });
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
