// The instruments of bench:overhead that its figures rest on: the SQL statement counter (on a real
// in-memory PGlite ledger) and how the Temporal dev server is told apart from the stack's processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type LedgerStore } from '../../../ledger';
import { isTemporalCommand } from '../../../bench/overhead-procs';
import { countStatements } from '../../../bench/overhead-profile';

describe('countStatements', () => {
  let ledger: LedgerStore;
  beforeAll(async () => {
    ledger = await openLedger({ inMemory: true });
  }, 120_000);
  afterAll(async () => {
    await ledger?.close();
  });

  it('counts statements alone and in transactions, BEGIN and COMMIT included, until restored', async () => {
    const before = { query: ledger.sql.query, transaction: ledger.sql.transaction };
    const counter = countStatements(ledger);
    await ledger.sql.query('SELECT 1');
    await ledger.sql.exec('SELECT 1; SELECT 2');
    const inside = await ledger.sql.transaction(async (tx) => {
      await tx.query('SELECT 1');
      const { rows } = await tx.query<{ n: number }>('SELECT $1::int AS n', [7]);
      return rows[0]!.n;
    });
    expect(inside).toBe(7);
    await ledger.sql.withLock(42n, async (session) => {
      await session.query('SELECT 1');
    });
    expect(counter.count()).toBe(1 + 1 + 2 + 2 + 1);
    expect(counter.transactions()).toBe(1);
    counter.restore();
    expect(ledger.sql.query).toBe(before.query);
    expect(ledger.sql.transaction).toBe(before.transaction);
    await ledger.sql.query('SELECT 1');
    expect(counter.count()).toBe(7);
  });

  it('counts a store operation the way the benchmark does', async () => {
    const counter = countStatements(ledger);
    try {
      await ledger.listSpend('2026-11');
    } finally {
      counter.restore();
    }
    expect(counter.count()).toBeGreaterThan(0);
  });
});

describe('isTemporalCommand', () => {
  it('is the temporal CLI, wherever it is installed, and nothing else', () => {
    expect(
      isTemporalCommand([
        '/work/main/.tools/temporal/python/bin/temporal',
        'server',
        'start-dev',
        '--port',
        '1',
      ]),
    ).toBe(true);
    expect(isTemporalCommand(['/usr/bin/node', '/srv/app/ledger-server.js', '/tmp/x/ledger'])).toBe(false);
    expect(isTemporalCommand(['/usr/bin/node', '--import', 'tsx', 'bench/overhead.ts'])).toBe(false);
  });
});
