/**
 * PostgreSQL driver: a `pg` pool against a server named by a connection URL (DATABASE_URL). Many worker
 * processes share one server, so atomicity comes from the database: transactions run on one pooled
 * connection, serialization failures and deadlocks are retried, and type parsers are set per pool (never
 * on the global `pg.types`, which other code in the process may rely on).
 */
import pg from 'pg';
import {
  DEFAULT_MAX_ATTEMPTS,
  PG_OID,
  parseInt8,
  parseNumeric,
  withRetries,
  type IsolationLevel,
  type SqlClient,
  type SqlQueryable,
  type SqlResult,
  type SqlSession,
  type TransactionOptions,
} from './sql';

const customTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format !== 'binary') {
      if (oid === PG_OID.INT8) return parseInt8;
      if (oid === PG_OID.NUMERIC) return parseNumeric;
    }
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

type PgRunner = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

function queryable(runner: PgRunner): SqlQueryable {
  return {
    async query<R>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
      const result = await runner.query(text, [...params]);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(script: string): Promise<void> {
      // no parameters: the simple query protocol, which accepts several statements
      await runner.query(script);
    },
  };
}

const BEGIN: Record<IsolationLevel, string> = {
  'read committed': 'BEGIN ISOLATION LEVEL READ COMMITTED',
  'repeatable read': 'BEGIN ISOLATION LEVEL REPEATABLE READ',
  serializable: 'BEGIN ISOLATION LEVEL SERIALIZABLE',
};

/** Runs `fn` in a transaction on `client`; returns the connection's health along with the outcome. */
async function inTransaction<T>(
  client: pg.PoolClient,
  fn: (tx: SqlQueryable) => Promise<T>,
  isolation: IsolationLevel,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown; broken: Error | undefined }> {
  try {
    await client.query(BEGIN[isolation]);
    const value = await fn(queryable(client));
    await client.query('COMMIT');
    return { ok: true, value };
  } catch (error) {
    try {
      await client.query('ROLLBACK');
      return { ok: false, error, broken: undefined };
    } catch (rollbackError) {
      // the connection itself failed: it must not go back to the pool
      return {
        ok: false,
        error,
        broken: rollbackError instanceof Error ? rollbackError : new Error('rollback failed'),
      };
    }
  }
}

export interface PostgresOptions {
  /** a connection URL; or `connection`: host (a Unix socket folder or an address), port and credentials */
  url?: string;
  connection?: { host: string; port: number; user: string; database: string; password: string };
  /** connections in the pool; default 10 */
  poolSize?: number;
  applicationName?: string;
}

export async function openPostgres(options: PostgresOptions): Promise<SqlClient> {
  const pool = new pg.Pool({
    ...(options.url !== undefined ? { connectionString: options.url } : {}),
    ...options.connection,
    max: options.poolSize ?? 10,
    types: customTypes,
    application_name: options.applicationName ?? 'groq-governor',
  });
  // An idle pooled connection that dies (server restart) emits 'error' on the pool; without a listener
  // that would crash the process. The next query gets a fresh connection or reports the failure itself.
  pool.on('error', () => undefined);
  // fail fast on a wrong URL instead of at the first store call
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }

  function transactionOn(getClient: () => Promise<{ client: pg.PoolClient; done: (error?: Error) => void }>) {
    return <T>(fn: (tx: SqlQueryable) => Promise<T>, opts: TransactionOptions = {}): Promise<T> =>
      withRetries(opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, async () => {
        const { client, done } = await getClient();
        const outcome = await inTransaction(client, fn, opts.isolation ?? 'read committed');
        done(outcome.ok ? undefined : outcome.broken);
        if (!outcome.ok) throw outcome.error;
        return outcome.value;
      });
  }

  const direct = queryable(pool);
  return {
    driver: 'postgres',
    query: direct.query,
    exec: direct.exec,
    transaction: transactionOn(async () => {
      const client = await pool.connect();
      return { client, done: (error) => client.release(error) };
    }),
    async withLock<T>(key: bigint, fn: (session: SqlSession) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('SELECT pg_advisory_lock($1::bigint)', [key.toString()]);
        try {
          const session: SqlSession = {
            ...queryable(client),
            transaction: transactionOn(async () => ({
              client,
              done: (error) => {
                broken ??= error;
              },
            })),
          };
          return await fn(session);
        } finally {
          await client
            .query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()])
            .catch((error: unknown) => {
              // closing the connection ends the session, which drops the lock
              broken ??= error instanceof Error ? error : new Error('advisory unlock failed');
            });
        }
      } finally {
        client.release(broken);
      }
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}
