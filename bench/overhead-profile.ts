/**
 * Instrumentation of the ledger for `bench:overhead`: `--profile` times every ledger method and SQL
 * statement; `countStatements` counts the SQL statements the stack sends during a pass (always run,
 * apart from the timed runs) and undoes its wrapping afterwards.
 */
import { performance } from 'node:perf_hooks';
import type { LedgerStore, SqlQueryable } from '../ledger';
import { table } from './support';

/** Per-name call counts and total time, for --profile. */
export class Profile {
  private readonly entries = new Map<string, { calls: number; totalMs: number; maxMs: number }>();

  /** first start and last end of a wrapped call since the last mark */
  window: { first: number; last: number } = { first: Number.NaN, last: Number.NaN };

  mark(): void {
    this.window = { first: Number.NaN, last: Number.NaN };
  }

  wrap<T extends object>(target: T, names: string[], prefix: string): void {
    for (const name of names) {
      const original = (target as Record<string, unknown>)[name];
      if (typeof original !== 'function') continue;
      const label = prefix.endsWith('.') ? `${prefix}${name}` : prefix;
      (target as Record<string, unknown>)[name] = (...args: unknown[]) => {
        const t0 = performance.now();
        if (Number.isNaN(this.window.first)) this.window.first = t0;
        const done = () => {
          this.window.last = performance.now();
          this.add(label, this.window.last - t0);
        };
        const result = (original as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) return result.finally(done);
        done();
        return result;
      };
    }
  }

  add(label: string, elapsed: number): void {
    const entry = this.entries.get(label) ?? { calls: 0, totalMs: 0, maxMs: 0 };
    entry.calls++;
    entry.totalMs += elapsed;
    entry.maxMs = Math.max(entry.maxMs, elapsed);
    this.entries.set(label, entry);
  }

  reset(): void {
    this.entries.clear();
  }

  report(requests: number): string {
    const rows = [...this.entries.entries()]
      .sort((a, b) => b[1].totalMs - a[1].totalMs)
      .map(([label, e]) => [
        label,
        String(e.calls),
        (e.calls / Math.max(1, requests)).toFixed(2),
        (e.totalMs / e.calls).toFixed(2),
        e.maxMs.toFixed(1),
        (e.totalMs / Math.max(1, requests)).toFixed(2),
      ]);
    return table(['call', 'calls', 'per request', 'mean ms', 'max ms', 'ms per request'], rows);
  }
}

/** --profile: every ledger method, every statement alone and inside transactions (BEGIN/COMMIT not counted). */
export function installProfile(ledger: LedgerStore, profile: Profile): void {
  const record = ledger as unknown as Record<string, unknown>;
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(ledger)).filter(
    (name) => name !== 'constructor' && name !== 'driver' && typeof record[name] === 'function',
  );
  profile.wrap(ledger, methods, 'ledger.');
  const sql = ledger.sql as unknown as Record<string, unknown>;
  const transaction = ledger.sql.transaction.bind(ledger.sql);
  sql.transaction = (fn: (tx: SqlQueryable) => Promise<unknown>, txOptions?: unknown) =>
    transaction((tx) => {
      profile.wrap(tx, ['query'], 'sql statement (in a transaction)');
      return fn(tx);
    }, txOptions as undefined);
  profile.wrap(ledger.sql, ['query'], 'sql statement (alone)');
  profile.wrap(ledger.sql, ['transaction'], 'sql transaction');
}

export interface StatementCounter {
  /** statements so far: every query and exec, alone or in a transaction, plus BEGIN and COMMIT per transaction attempt */
  count(): number;
  transactions(): number;
  /** put the ledger's SQL client back as it was */
  restore(): void;
}

type Fn = (...args: unknown[]) => unknown;

/** Count every SQL statement sent through `ledger.sql` (and the sessions of its `withLock`) until restore(). */
export function countStatements(ledger: LedgerStore): StatementCounter {
  let statements = 0;
  let transactions = 0;
  const restores: Array<() => void> = [];
  const patch = (target: object, name: string, make: (original: Fn) => Fn) => {
    const record = target as Record<string, unknown>;
    const original = record[name];
    if (typeof original !== 'function') return;
    const own = Object.getOwnPropertyDescriptor(target, name);
    record[name] = make((original as Fn).bind(target));
    restores.push(() => {
      if (own) Object.defineProperty(target, name, own);
      else delete record[name];
    });
  };
  const wrapStatement =
    (original: Fn): Fn =>
    (...args: unknown[]) => {
      statements++;
      return original(...args);
    };
  const wrapTransaction =
    (original: Fn): Fn =>
    (...args: unknown[]) => {
      const [fn, ...rest] = args as [(tx: SqlQueryable) => Promise<unknown>, ...unknown[]];
      return original(
        (tx: SqlQueryable) => {
          transactions++;
          statements += 2; // BEGIN and COMMIT (or ROLLBACK)
          return fn(counted(tx) as SqlQueryable);
        },
        ...rest,
      );
    };
  const wrapLock =
    (original: Fn): Fn =>
    (...args: unknown[]) => {
      const [key, fn] = args as [unknown, (session: object) => Promise<unknown>];
      return original(key, (session: object) => fn(counted(session)));
    };
  /** a counting stand-in for a transaction or a session (which may be shared, so it is not changed) */
  const counted = (target: object): object => {
    const record = target as Record<string, unknown>;
    const stand: Record<string, unknown> = {};
    for (const [name, wrap] of [
      ['query', wrapStatement],
      ['exec', wrapStatement],
      ['transaction', wrapTransaction],
    ] as const) {
      const original = record[name];
      if (typeof original === 'function') stand[name] = wrap((original as Fn).bind(target));
    }
    return stand;
  };
  patch(ledger.sql, 'query', wrapStatement);
  patch(ledger.sql, 'exec', wrapStatement);
  patch(ledger.sql, 'transaction', wrapTransaction);
  patch(ledger.sql, 'withLock', wrapLock);
  return {
    count: () => statements,
    transactions: () => transactions,
    restore: () => {
      for (const restore of restores.reverse()) restore();
      restores.length = 0;
    },
  };
}
