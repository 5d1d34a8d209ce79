/**
 * PGlite driver: PostgreSQL compiled to WebAssembly, embedded in this process, persisted in a data folder
 * (or in memory for tests). It has exactly one connection, so every transaction runs alone: PGlite's own
 * transaction mutex serialises them and plain queries wait for an open transaction to finish. That makes
 * every transaction trivially serializable; no retries are ever needed. One data folder belongs to one
 * process at a time: several processes must share a PostgreSQL server instead (DATABASE_URL).
 */
import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
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

export async function openPglite(options: PgliteOptions = {}): Promise<SqlClient> {
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
  const db = await PGlite.create({
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    parsers: { [PG_OID.INT8]: parseInt8, [PG_OID.NUMERIC]: parseNumeric },
  });
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
      if (!db.closed) await db.close();
    },
  };
}
