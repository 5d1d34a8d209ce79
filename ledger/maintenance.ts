/**
 * The ledger's own upkeep where PostgreSQL does none: a server with `autovacuum = off` (a CI or test
 * configuration, or a DBA's choice) never refreshes the planner's statistics nor removes the dead rows of
 * the tables every request and batch item writes. Their plans then go stale and their locks are held
 * longer: a 60,000-line batch ran at 380 items/s in its first minute and 235 in its third, and 400-450
 * throughout with the tables vacuumed every 20 s. So a worker on such a server runs `VACUUM (ANALYZE)` of
 * those tables itself, every 30 s, one worker at a time (a session advisory lock; a worker that finds them
 * vacuumed less than half an interval ago leaves it). With autovacuum on, nothing runs.
 */
import type { SqlClient } from './sql';

/** The tables requests and batch items update or delete from (their rows churn), and the ones they fill. */
export const CHURNING_TABLES = [
  'budgets',
  'budget_reservations',
  'rate_buckets',
  'rate_leases',
  'rate_admissions',
  'rate_admission_seconds',
  'upstream_calls',
  'batch_items',
  'usage_records',
] as const;

export const MAINTENANCE_EVERY_MS = 30_000;
/** `pg_advisory_lock` key of the upkeep ('ggvacuum' in ASCII) */
const LOCK_KEY = 0x676776616375756dn;

export interface LedgerMaintenance {
  /** whether this process keeps the tables (the server's autovacuum is off) */
  readonly active: boolean;
  /** runs one round now (for tests); resolves false when another worker had just done it */
  runOnce(): Promise<boolean>;
  stop(): Promise<void>;
}

/** Whether the PostgreSQL server vacuums and analyzes by itself. */
export async function serverAutovacuums(sql: SqlClient): Promise<boolean> {
  const { rows } = await sql.query<{ autovacuum: string }>('SHOW autovacuum');
  return rows[0]?.autovacuum === 'on';
}

export async function startLedgerMaintenance(
  sql: SqlClient,
  options: { everyMs?: number; log?: (line: string) => void } = {},
): Promise<LedgerMaintenance> {
  const everyMs = options.everyMs ?? MAINTENANCE_EVERY_MS;
  const log = options.log ?? (() => undefined);
  if (sql.driver !== 'postgres' || (await serverAutovacuums(sql))) {
    return { active: false, runOnce: async () => false, stop: async () => undefined };
  }
  const runOnce = () =>
    sql.withLock(LOCK_KEY, async (session) => {
      const { rows } = await session.query<{ fresh: boolean }>(
        `SELECT COALESCE(max(last_vacuum) > now() - make_interval(secs => $1::float8 / 2000), false) AS fresh
           FROM pg_stat_user_tables WHERE relname = 'budgets'`,
        [everyMs],
      );
      if (rows[0]?.fresh === true) return false;
      await session.exec(`VACUUM (ANALYZE) ${CHURNING_TABLES.join(', ')}`);
      return true;
    });
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = runOnce().catch((error: unknown) => log(`ledger upkeep: ${(error as Error).message}`));
  }, everyMs);
  timer.unref();
  log(
    `Ledger upkeep: the server's autovacuum is off; VACUUM (ANALYZE) of the busiest tables every ${everyMs / 1000} s`,
  );
  return {
    active: true,
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
