/**
 * Where the gateway-key tests run: PGlite in memory, and a PostgreSQL server when one answers at
 * TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), in a fresh
 * `gg_test_<random>_<n>` database dropped afterwards (the ledger suite's harness). When no server
 * answers, the PostgreSQL half is skipped with a loud banner, never silently.
 */
import { createHash } from 'node:crypto';
import { openLedger } from '../../../ledger/open';
import type { LedgerStore } from '../../../ledger/store';
import { postgresTarget, probePostgres, testDatabaseUrl } from '../ledger/harness';

export interface KeyTestTarget {
  driver: 'pglite' | 'postgres';
  /** a brand-new migrated ledger */
  open(): Promise<LedgerStore>;
  cleanup(): Promise<void>;
}

export function pgliteInMemory(): KeyTestTarget {
  return { driver: 'pglite', open: () => openLedger({ inMemory: true }), cleanup: async () => undefined };
}

export function postgres(url: string): KeyTestTarget {
  const target = postgresTarget(url, 8);
  return {
    driver: 'postgres',
    open: async () => openLedger(await target.scratch()),
    cleanup: () => target.cleanup(),
  };
}

/** The PostgreSQL target, or null after printing why it is skipped. */
export async function postgresOrBanner(suite: string): Promise<{ url: string; unavailable: Error | null }> {
  const url = testDatabaseUrl();
  const unavailable = await probePostgres(url);
  if (unavailable) {
    const line = '!'.repeat(100);
    const shown = new URL(url);
    if (shown.password) shown.password = '***';
    console.warn(
      [
        '',
        line,
        `!!! ${suite} ON POSTGRESQL SKIPPED: no PostgreSQL server answered`,
        `!!! at ${shown.toString()}: ${unavailable.message}`,
        '!!! Start one (or set TEST_DATABASE_URL) to run the PostgreSQL half of these tests.',
        line,
        '',
      ].join('\n'),
    );
  }
  return { url, unavailable };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Every row of every table of the ledger, as text. */
export async function dumpDatabase(ledger: LedgerStore): Promise<string> {
  const { rows } = await ledger.sql.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const parts: string[] = [];
  for (const { table_name } of rows) {
    const dump = await ledger.sql.query<{ row: string }>(`SELECT t::text AS row FROM "${table_name}" t`);
    parts.push(`-- ${table_name}`, ...dump.rows.map((r) => r.row));
  }
  return parts.join('\n');
}

export const KEY_PATTERN = /ggk_[0-9A-Za-z]{12}_[0-9A-Za-z]{40}/g;
