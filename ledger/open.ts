/**
 * Opening the ledger. The driver is chosen once, here:
 *  1. `inMemory: true`                  -> PGlite in memory (tests)
 *  2. `databaseUrl`, else DATABASE_URL   -> PostgreSQL (several processes share it)
 *  3. otherwise                          -> PGlite in `<dataDir>/ledger` (dataDir defaults to `.data`):
 *     joined through the ledger host that serves the folder (`up` starts one, ./host), else opened
 *     in this process (which then owns the folder until it closes it)
 * Pass `databaseUrl: null` to ignore DATABASE_URL. Migrations are applied before the store is returned.
 */
import { join } from 'node:path';
import { LedgerError } from './errors';
import { migrate, type MigrationReport } from './migrate';
import type { SqlClient } from './sql';
import { LedgerStore } from './store';

export const DEFAULT_DATA_DIR = '.data';

export interface OpenLedgerOptions {
  /** the product's data folder; the ledger lives in `<dataDir>/ledger` (default `.data`) */
  dataDir?: string;
  /** PostgreSQL URL; undefined: DATABASE_URL from `env`; null: never PostgreSQL */
  databaseUrl?: string | null;
  /** PGlite in memory, nothing on disk (tests) */
  inMemory?: boolean;
  /** where DATABASE_URL is read from (default process.env) */
  env?: Readonly<Record<string, string | undefined>>;
  /** migrations folder (default ledger/migrations) */
  migrationsDir?: string;
  /** PostgreSQL pool size (default 10) */
  poolSize?: number;
  /** apply migrations on open (default true) */
  migrate?: boolean;
}

export type LedgerTarget = { driver: 'postgres'; url: string } | { driver: 'pglite'; dataDir: string | null };

export function resolveLedgerTarget(options: OpenLedgerOptions = {}): LedgerTarget {
  if (options.inMemory) return { driver: 'pglite', dataDir: null };
  const env = options.env ?? process.env;
  const url = options.databaseUrl === undefined ? env.DATABASE_URL : options.databaseUrl;
  if (url) return { driver: 'postgres', url };
  return { driver: 'pglite', dataDir: join(options.dataDir ?? DEFAULT_DATA_DIR, 'ledger') };
}

/** A printable description of the target, with any password hidden. */
export function describeLedgerTarget(target: LedgerTarget): string {
  if (target.driver === 'pglite')
    return target.dataDir === null ? 'PGlite (in memory)' : `PGlite at ${target.dataDir}`;
  try {
    const url = new URL(target.url);
    if (url.password) url.password = '***';
    return `PostgreSQL at ${url.toString()}`;
  } catch {
    return 'PostgreSQL (unparseable URL)';
  }
}

export async function openSqlClient(
  target: LedgerTarget,
  options: { poolSize?: number } = {},
): Promise<SqlClient> {
  if (target.driver === 'postgres') {
    const { openPostgres } = await import('./driver-postgres');
    return openPostgres({
      url: target.url,
      ...(options.poolSize !== undefined ? { poolSize: options.poolSize } : {}),
    });
  }
  const { openPglite } = await import('./driver-pglite');
  if (target.dataDir === null) return openPglite({});
  const { findLedgerHost, openSocketClient } = await import('./driver-socket');
  const host = await findLedgerHost(target.dataDir);
  if (host) return openSocketClient(host, options);
  try {
    // another process that opened the folder itself (a CLI command) is waited for, briefly
    return await openPglite({ dataDir: target.dataDir, waitForOwnerMs: OWNER_WAIT_MS });
  } catch (error) {
    if (!(error instanceof LedgerError && error.code === 'data_dir_served')) throw error;
    const started = await findLedgerHost(target.dataDir);
    if (!started) throw error;
    return openSocketClient(started, options);
  }
}

/** How long an opener waits for another process that owns the embedded folder without serving it. */
const OWNER_WAIT_MS = 10_000;

export async function openLedger(options: OpenLedgerOptions = {}): Promise<LedgerStore> {
  const target = resolveLedgerTarget(options);
  const sql = await openSqlClient(target, options);
  let report: MigrationReport = { applied: [], current: 0 };
  try {
    if (options.migrate !== false) {
      report = await migrate(sql, options.migrationsDir !== undefined ? { dir: options.migrationsDir } : {});
    }
  } catch (error) {
    await sql.close().catch(() => undefined);
    throw error;
  }
  return new LedgerStore(sql, report);
}
