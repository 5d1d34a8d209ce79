/**
 * Test targets for the ledger store suite: PGlite (in memory or in a temp data folder) and PostgreSQL
 * (a fresh `gg_test_<random>` database per run on TEST_DATABASE_URL's server, dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startLedgerHost, type LedgerHostHandle } from '../../../ledger/host/spawn';
import type { OpenLedgerOptions } from '../../../ledger/open';

export interface LedgerTestTarget {
  driver: 'pglite' | 'postgres';
  /** a brand-new empty database that can be closed and opened again */
  fresh(): Promise<OpenLedgerOptions>;
  /** the quickest brand-new empty database (PGlite: in memory) */
  scratch(): Promise<OpenLedgerOptions>;
  /** whether several clients (pools, processes) may open one database at once */
  multiClient: boolean;
  /** remove every database and folder this target created */
  cleanup(): Promise<void>;
}

export function pgliteTarget(): LedgerTestTarget {
  const folders: string[] = [];
  return {
    driver: 'pglite',
    multiClient: false,
    async fresh() {
      const folder = await mkdtemp(join(tmpdir(), 'gg-ledger-test-'));
      folders.push(folder);
      return { dataDir: folder, databaseUrl: null };
    },
    async scratch() {
      return { inMemory: true };
    },
    async cleanup() {
      await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
    },
  };
}

/**
 * PGlite through a ledger host (the `pg` driver on its socket, as `up`'s worker and gateway use it): each
 * database is a temp folder served by a host process of its own.
 */
export function ledgerHostTarget(): LedgerTestTarget {
  const folders: string[] = [];
  const hosts: LedgerHostHandle[] = [];
  const served = async () => {
    const folder = await mkdtemp(join(tmpdir(), 'gg-ledger-host-test-'));
    folders.push(folder);
    hosts.push(await startLedgerHost(join(folder, 'ledger')));
    return { dataDir: folder, databaseUrl: null };
  };
  return {
    driver: 'pglite',
    multiClient: true,
    fresh: served,
    scratch: served,
    async cleanup() {
      await Promise.all(hosts.map((host) => host.stop()));
      await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
    },
  };
}

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function testDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
}

/** Connects to the server once; the error when nothing answers. */
export async function probePostgres(url: string): Promise<Error | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function warnPostgresSkipped(url: string, error: Error): void {
  const line = '!'.repeat(100);
  console.warn(
    [
      '',
      line,
      '!!! LEDGER STORE SUITE ON POSTGRESQL SKIPPED: no PostgreSQL server answered',
      `!!! at ${redact(url)}: ${error.message}`,
      '!!! Start one (or set TEST_DATABASE_URL) to run the PostgreSQL half of the ledger tests.',
      line,
      '',
    ].join('\n'),
  );
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export function databaseUrlFor(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export function postgresTarget(adminUrl: string, poolSize = 16): LedgerTestTarget {
  const run = randomBytes(4).toString('hex');
  const databases: string[] = [];
  async function createDatabase(): Promise<string> {
    const name = `gg_test_${run}_${databases.length}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    databases.push(name);
    return databaseUrlFor(adminUrl, name);
  }
  return {
    driver: 'postgres',
    multiClient: true,
    async fresh() {
      return { databaseUrl: await createDatabase(), poolSize };
    },
    async scratch() {
      return { databaseUrl: await createDatabase(), poolSize };
    },
    async cleanup() {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Unique names per test, so tests sharing one database never see each other's rows. */
let counter = 0;
export function uniqueNames(label: string) {
  const n = ++counter;
  const tag = `${label}-${n}-${randomBytes(3).toString('hex')}`;
  return {
    tag,
    /** a budget period no other test uses: years 2101, 2102, ... */
    period: `${2100 + n}-0${1 + (n % 9)}`,
    team: (name: string) => `${name}-${tag}`,
    bucket: (name: string) => `${name}:${tag}`,
    id: (name: string) => `${name}-${tag}`,
  };
}
