/**
 * The ledger's own upkeep (ledger/maintenance.ts) on a real PostgreSQL server: where its autovacuum is
 * off (the server of this project's CI and of this machine), a worker vacuums and analyzes the busiest
 * tables, one worker a round; where autovacuum is on, and on PGlite, nothing runs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { openLedger, type LedgerStore } from '../../../ledger';
import { CHURNING_TABLES, serverAutovacuums, startLedgerMaintenance } from '../../../ledger/maintenance';
import { postgresTarget, probePostgres, testDatabaseUrl, warnPostgresSkipped } from './harness';

const url = testDatabaseUrl();
const unavailable = await probePostgres(url);
if (unavailable) warnPostgresSkipped(url, unavailable);

describe('ledger upkeep', () => {
  const target = postgresTarget(url, 4);
  const opened: LedgerStore[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((ledger) => ledger.close()));
    await target.cleanup();
  });

  it('does nothing on PGlite (no server, nothing to stand in for)', async () => {
    const ledger = await openLedger({ inMemory: true });
    opened.push(ledger);
    const upkeep = await startLedgerMaintenance(ledger.sql);
    expect(upkeep.active).toBe(false);
    expect(await upkeep.runOnce()).toBe(false);
    await upkeep.stop();
  });

  it.skipIf(unavailable !== null)(
    'on a server without autovacuum, vacuums and analyzes the busiest tables, one worker a round',
    async () => {
      const options = await target.fresh();
      const a = await openLedger(options);
      opened.push(a);
      const autovacuum = await serverAutovacuums(a.sql);
      const first = await startLedgerMaintenance(a.sql, { everyMs: 3_600_000 });
      expect(first.active).toBe(!autovacuum);
      if (autovacuum) return; // the server keeps its tables itself: nothing more to see here
      const stats = async () => {
        const { rows } = await a.sql.query<{ relname: string; analyzed: boolean }>(
          `SELECT relname, last_vacuum IS NOT NULL AND last_analyze IS NOT NULL AS analyzed
             FROM pg_stat_user_tables WHERE relname = ANY($1::text[])`,
          [[...CHURNING_TABLES]],
        );
        return new Map(rows.map((row) => [row.relname, row.analyzed]));
      };
      expect([...(await stats()).values()].some(Boolean)).toBe(false);
      expect(await first.runOnce()).toBe(true);
      const after = await stats();
      for (const table of CHURNING_TABLES) expect(after.get(table)).toBe(true);
      // a second worker on the same database finds the round just done and leaves it
      const b = await openLedger(options);
      opened.push(b);
      const second = await startLedgerMaintenance(b.sql, { everyMs: 3_600_000 });
      expect(second.active).toBe(true);
      expect(await second.runOnce()).toBe(false);
      await Promise.all([first.stop(), second.stop()]);
    },
  );
});
