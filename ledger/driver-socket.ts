/**
 * Joining an embedded ledger that a ledger host (./host) serves: the ordinary `pg` pool over the host's
 * Unix socket (or loopback port), so the CLI, extra workers and gateways and `up`'s own worker and
 * gateway all use one driver path. The database is still PGlite, one session: the host runs one
 * client's query or transaction at a time, so transactions never interleave and never need retries.
 *
 * `withLock` cannot use advisory locks here (every client shares PGlite's one session, where they are
 * re-entrant); it runs `fn` inside one transaction instead, which holds the host exclusively until it
 * ends, and the session's nested transactions become savepoints.
 */
import pg from 'pg';
import {
  isLedgerHostProcess,
  processAlive,
  readOwner,
  removeStaleLock,
  type HostEndpoint,
} from './data-dir-owner';
import { openPostgres } from './driver-postgres';
import type { SqlClient, SqlQueryable, SqlSession } from './sql';

/** pg settings for a host endpoint */
export function hostConnection(endpoint: HostEndpoint) {
  return {
    host: endpoint.host,
    port: endpoint.port,
    user: 'postgres',
    database: 'postgres',
    password: endpoint.password,
  };
}

/** Whether the host at `endpoint` answers a query within a few seconds. */
export async function hostAnswers(endpoint: HostEndpoint): Promise<boolean> {
  const client = new pg.Client({ ...hostConnection(endpoint), connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface RunningHost {
  pid: number;
  endpoint: HostEndpoint;
}

/**
 * The ledger host serving `dataDir`, if one does. The lock's process is checked first: gone (or a
 * zombie) means a stale lock; a live ledger host is trusted (its socket may be busy with a long
 * transaction, and a client simply waits its turn); a live process that is no ledger host (its pid was
 * reused) must answer on the socket, or the lock is stale. Stale locks are removed.
 */
export async function findLedgerHost(dataDir: string): Promise<RunningHost | null> {
  const owner = await readOwner(dataDir);
  if (owner?.endpoint === undefined) return null;
  const running = { pid: owner.pid, endpoint: owner.endpoint };
  if (processAlive(owner.pid)) {
    if (isLedgerHostProcess(owner.pid)) return running;
    if (await hostAnswers(owner.endpoint)) return running;
  }
  await removeStaleLock(dataDir, owner);
  return null;
}

export function describeEndpoint(endpoint: Pick<HostEndpoint, 'host' | 'port'>): string {
  return endpoint.host.startsWith('/')
    ? `${endpoint.host}/.s.PGSQL.${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}

function savepoints(tx: SqlQueryable): SqlSession {
  let depth = 0;
  const session: SqlSession = {
    query: (text, params) => tx.query(text, params),
    exec: (script) => tx.exec(script),
    async transaction(fn) {
      const name = `gg_lock_${++depth}`;
      await tx.query(`SAVEPOINT ${name}`);
      try {
        const value = await fn(tx);
        await tx.query(`RELEASE SAVEPOINT ${name}`);
        return value;
      } catch (error) {
        await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
        await tx.query(`RELEASE SAVEPOINT ${name}`);
        throw error;
      }
    },
  };
  return session;
}

export async function openSocketClient(
  host: RunningHost,
  options: { poolSize?: number } = {},
): Promise<SqlClient> {
  const client = await openPostgres({
    connection: hostConnection(host.endpoint),
    ...(options.poolSize !== undefined ? { poolSize: options.poolSize } : {}),
    applicationName: 'groq-governor',
  });
  return {
    ...client,
    driver: 'pglite',
    withLock: (_key, fn) => client.transaction((tx) => fn(savepoints(tx))),
  };
}
