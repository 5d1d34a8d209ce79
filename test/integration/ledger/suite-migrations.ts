/**
 * Migrations: ordered application, idempotent re-open, atomic failure, checksum and version checks, and
 * concurrent migrators. The lifecycle tests share one database and run in order.
 */
import { appendFile, copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MIGRATIONS_DIR, loadMigrations, migrate, MigrationError } from '../../../ledger/migrate';
import { openLedger, type OpenLedgerOptions } from '../../../ledger/open';
import type { LedgerTestTarget } from './harness';

async function versionsIn(options: OpenLedgerOptions, migrationsDir: string) {
  const ledger = await openLedger({ ...options, migrationsDir, migrate: false });
  try {
    const { rows } = await ledger.sql.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations ORDER BY version',
    );
    return rows;
  } finally {
    await ledger.close();
  }
}

async function tableExists(options: OpenLedgerOptions, table: string): Promise<boolean> {
  const ledger = await openLedger({ ...options, migrate: false });
  try {
    const { rows } = await ledger.sql.query<{ present: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS present',
      [table],
    );
    return rows[0]?.present === true;
  } finally {
    await ledger.close();
  }
}

export function migrationTests(target: LedgerTestTarget): void {
  describe('migrations', () => {
    let dir: string;
    let options: OpenLedgerOptions;
    let shipped: string[];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gg-migrations-'));
      shipped = (await readdir(DEFAULT_MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
      options = await target.fresh();
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    const ship = async (count: number) => {
      for (const name of shipped.slice(0, count))
        await copyFile(join(DEFAULT_MIGRATIONS_DIR, name), join(dir, name));
    };
    const open = async () => (await openLedger({ ...options, migrationsDir: dir })).close();

    it('the shipped migrations are numbered 1..N without gaps', async () => {
      const migrations = await loadMigrations();
      expect(migrations.length).toBeGreaterThanOrEqual(4);
      expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    });

    it('applies the first migrations in order and records them with checksums', async () => {
      await ship(2);
      const ledger = await openLedger({ ...options, migrationsDir: dir });
      expect(ledger.migrations).toEqual({ applied: [1, 2], current: 2 });
      await ledger.close();
      const rows = await versionsIn(options, dir);
      const expected = (await loadMigrations(dir)).map((m) => ({ version: m.version, checksum: m.checksum }));
      expect(rows).toEqual(expected);
    });

    it('applies only the new migrations when more are shipped, and nothing on a re-open', async () => {
      await ship(shipped.length);
      const ledger = await openLedger({ ...options, migrationsDir: dir });
      const all = shipped.map((_, i) => i + 1);
      expect(ledger.migrations).toEqual({ applied: all.slice(2), current: shipped.length });
      await ledger.close();
      const again = await openLedger({ ...options, migrationsDir: dir });
      expect(again.migrations).toEqual({ applied: [], current: shipped.length });
      await again.close();
    });

    it('rolls a failing migration back entirely and does not record it', async () => {
      const broken = join(dir, `${String(shipped.length + 1).padStart(4, '0')}_broken.sql`);
      await writeFile(broken, 'CREATE TABLE half_done (a int);\nSELECT no_such_function();\n');
      await expect(open()).rejects.toThrow(/no_such_function/);
      await rm(broken);
      expect(await tableExists(options, 'half_done')).toBe(false);
      expect((await versionsIn(options, dir)).length).toBe(shipped.length);
    });

    it('refuses to open when an applied migration was edited', async () => {
      const first = join(dir, shipped[0] ?? '');
      await appendFile(first, '\n-- an innocent-looking edit\n');
      await expect(open()).rejects.toThrow(MigrationError);
      await expect(open()).rejects.toThrow(/was edited after it was applied/);
      await copyFile(join(DEFAULT_MIGRATIONS_DIR, shipped[0] ?? ''), first);
      await open();
    });

    it('refuses to open a database migrated by newer code', async () => {
      const extra = join(dir, `${String(shipped.length + 1).padStart(4, '0')}_newer.sql`);
      await writeFile(extra, 'CREATE TABLE newer_feature (a int);\n');
      await open();
      await rm(extra);
      await expect(open()).rejects.toThrow(/newer version/);
    });

    it('refuses a migrations folder with a gap in its versions', async () => {
      const gapDir = await mkdtemp(join(tmpdir(), 'gg-migrations-gap-'));
      try {
        await writeFile(join(gapDir, '0001_a.sql'), 'SELECT 1;');
        await writeFile(join(gapDir, '0003_c.sql'), 'SELECT 1;');
        await expect(loadMigrations(gapDir)).rejects.toThrow(/without gaps/);
      } finally {
        await rm(gapDir, { recursive: true, force: true });
      }
    });

    it.skipIf(target.multiClient)('keeps one embedded data folder to one open PGlite instance', async () => {
      // a process that opened the folder itself owns it: a second PGlite on it is refused, and the error
      // points to the ledger host (`up`), through which any number of processes share a folder
      // (test/integration/ledger/host.test.ts)
      const first = await openLedger({ ...options, migrate: false });
      try {
        await expect(openLedger({ ...options, migrate: false })).rejects.toThrow(
          /in use by process \d+ \(this one\).*groq-governor up/,
        );
      } finally {
        await first.close();
      }
      // a lock left behind by a process that died is taken over
      const dataDir = options.dataDir ? join(options.dataDir, 'ledger') : '';
      await writeFile(`${dataDir}.lock`, '2147483646');
      await (await openLedger({ ...options, migrate: false })).close();
    });

    it('fills the per-second totals from the sliding log already there (0014)', async () => {
      // a database that outlives its first opening (PGlite: a data folder, not memory)
      const fresh = await target.fresh();
      const seconds = shipped.indexOf('0014_rate_seconds.sql');
      expect(seconds).toBeGreaterThan(0);
      const before = await mkdtemp(join(tmpdir(), 'gg-migrations-0014-'));
      try {
        for (const name of shipped.slice(0, seconds))
          await copyFile(join(DEFAULT_MIGRATIONS_DIR, name), join(before, name));
        const old = await openLedger({ ...fresh, migrationsDir: before });
        await old.sql.query(
          `INSERT INTO rate_admissions (bucket, lease_id, at, tokens)
           SELECT b, 'lease-' || g, 1762077600000 + g * 250, g FROM generate_series(1, 20) g,
                  unnest(ARRAY['team:a', 'org:m']) b`,
        );
        await old.close();
        const ledger = await openLedger(fresh);
        try {
          const totals = await ledger.sql.query(
            'SELECT bucket, second::text, requests::text, tokens::text FROM rate_admission_seconds ORDER BY 1, 2',
          );
          const log = await ledger.sql.query(
            `SELECT bucket, floor(at / 1000.0)::bigint::text AS second, count(*)::text AS requests,
                    sum(tokens)::text AS tokens FROM rate_admissions GROUP BY 1, 2 ORDER BY 1, 2`,
          );
          expect(totals.rows).toHaveLength(12);
          expect(totals.rows).toEqual(log.rows);
        } finally {
          await ledger.close();
        }
      } finally {
        await rm(before, { recursive: true, force: true });
      }
    });

    it('two migrators starting at once apply every migration exactly once', async () => {
      const fresh = await target.scratch();
      const count = shipped.length;
      if (target.multiClient) {
        // two pools (as two processes would have) race on the same empty database
        const ledgers = await Promise.all([openLedger(fresh), openLedger(fresh), openLedger(fresh)]);
        try {
          const applied = ledgers.map((ledger) => ledger.migrations.applied);
          expect(applied.flat().sort((a, b) => a - b)).toEqual(shipped.map((_, i) => i + 1));
          expect(applied.filter((list) => list.length > 0)).toHaveLength(1);
          expect(ledgers.every((ledger) => ledger.migrations.current === count)).toBe(true);
        } finally {
          await Promise.all(ledgers.map((ledger) => ledger.close()));
        }
      } else {
        // one embedded database: concurrent migrate() calls in this process
        const ledger = await openLedger({ ...fresh, migrate: false });
        try {
          const reports = await Promise.all([migrate(ledger.sql), migrate(ledger.sql), migrate(ledger.sql)]);
          expect(reports.map((r) => r.applied.length).sort()).toEqual([0, 0, count]);
          const { rows } = await ledger.sql.query('SELECT version FROM schema_migrations');
          expect(rows).toHaveLength(count);
        } finally {
          await ledger.close();
        }
      }
    });
  });
}
