/**
 * Watching a ledger from a test: a counter of every SQL statement it runs (alone, in transactions and
 * in locked sessions; the way `bench/overhead.ts --profile` counts them), and a fingerprint of every
 * table's rows, to show a refused request changed nothing.
 */
import type { LedgerStore } from '../../ledger';
import type { SqlQueryable, SqlSession } from '../../ledger/sql';

export interface StatementCounter {
  /** statements since the last reset, with their text (first 120 characters) */
  readonly statements: string[];
  reset(): void;
  /** puts the ledger's methods back */
  restore(): void;
}

function wrapQueryable(target: SqlQueryable, seen: string[]): SqlQueryable {
  return {
    query: (text, params) => {
      seen.push(text.slice(0, 120));
      return target.query(text, params);
    },
    exec: (script) => {
      seen.push(script.slice(0, 120));
      return target.exec(script);
    },
  };
}

function wrapSession(target: SqlSession, seen: string[]): SqlSession {
  return {
    ...wrapQueryable(target, seen),
    transaction: (fn, options) => target.transaction((tx) => fn(wrapQueryable(tx, seen)), options),
  };
}

export function countStatements(ledger: LedgerStore): StatementCounter {
  const sql = ledger.sql as unknown as Record<string, unknown>;
  const original = {
    query: sql.query,
    exec: sql.exec,
    transaction: sql.transaction,
    withLock: sql.withLock,
  };
  const statements: string[] = [];
  const bound = {
    query: ledger.sql.query.bind(ledger.sql),
    exec: ledger.sql.exec.bind(ledger.sql),
    transaction: ledger.sql.transaction.bind(ledger.sql),
    withLock: ledger.sql.withLock.bind(ledger.sql),
  };
  const inner = wrapSession(
    { query: bound.query, exec: bound.exec, transaction: bound.transaction } as SqlSession,
    statements,
  );
  sql.query = inner.query;
  sql.exec = inner.exec;
  sql.transaction = inner.transaction;
  sql.withLock = (key: bigint, fn: (session: SqlSession) => Promise<unknown>) =>
    bound.withLock(key, (session) => fn(wrapSession(session, statements)));
  return {
    statements,
    reset: () => {
      statements.length = 0;
    },
    restore: () => Object.assign(sql, original),
  };
}

/** Every table of the ledger's schema: its row count and an md5 over its rows, in a fixed order. */
export async function ledgerFingerprint(ledger: LedgerStore): Promise<Record<string, string>> {
  const { rows: tables } = await ledger.sql.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const print: Record<string, string> = {};
  for (const { name } of tables) {
    const { rows } = await ledger.sql.query<{ n: number; h: string }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h
         FROM "${name.replace(/"/g, '""')}" t`,
    );
    print[name] = `${rows[0]!.n}:${rows[0]!.h}`;
  }
  return print;
}
