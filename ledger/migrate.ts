/**
 * Versioned schema migrations. Files `migrations/NNNN_name.sql` are applied in version order, each in its
 * own transaction together with its row in `schema_migrations` (version, name, SHA-256 checksum), so a
 * migration is either fully applied and recorded or not at all. Rules:
 *  - versions are 1, 2, 3, ... without gaps or duplicates;
 *  - an applied migration is never edited: a checksum mismatch refuses to open the ledger;
 *  - a database that has versions this code does not know (newer code ran) is refused too;
 *  - concurrent migrators (several processes starting at once) queue on an advisory lock, and the one
 *    that comes second finds everything applied.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asNumber, asString, type SqlClient } from './sql';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** hex SHA-256 of the file with line endings normalised to \n */
  checksum: string;
}

export interface MigrationReport {
  /** versions applied by this call, in order */
  applied: number[];
  /** highest applied version after this call (0: empty schema) */
  current: number;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Advisory lock key for migrations: the first 8 bytes of sha256('groq-governor:ledger:migrations'). */
export const MIGRATION_LOCK_KEY = BigInt.asIntN(
  64,
  BigInt('0x' + createHash('sha256').update('groq-governor:ledger:migrations').digest('hex').slice(0, 16)),
);

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

export async function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of names) {
    const match = FILE_NAME.exec(file);
    if (!match?.[1] || !match[2]) {
      throw new MigrationError(`migration file ${file} is not named NNNN_lower_snake_name.sql`);
    }
    const sql = await readFile(join(dir, file), 'utf8');
    migrations.push({ version: Number(match[1]), name: match[2], sql, checksum: checksumOf(sql) });
  }
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new MigrationError(
        `migration versions must run 1, 2, 3, ... without gaps or duplicates; found ${migration.version} at position ${index + 1}`,
      );
    }
  });
  return migrations;
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

export async function migrate(
  db: SqlClient,
  options: { migrations?: Migration[]; dir?: string } = {},
): Promise<MigrationReport> {
  const migrations = options.migrations ?? (await loadMigrations(options.dir));
  return db.withLock(MIGRATION_LOCK_KEY, async (session) => {
    await session.exec(CREATE_TABLE);
    const { rows } = await session.query<Record<string, unknown>>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const applied: AppliedRow[] = rows.map((row) => ({
      version: asNumber(row.version, 'version'),
      name: asString(row.name, 'name'),
      checksum: asString(row.checksum, 'checksum'),
    }));
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const row of applied) {
      const migration = known.get(row.version);
      if (!migration) {
        throw new MigrationError(
          `the database has migration ${row.version} (${row.name}) that this code does not know: it was migrated by a newer version`,
        );
      }
      if (migration.checksum !== row.checksum) {
        throw new MigrationError(
          `migration ${row.version} (${row.name}) was edited after it was applied (checksum ${row.checksum.slice(0, 12)} in the database, ${migration.checksum.slice(0, 12)} on disk); add a new migration instead`,
        );
      }
    }
    const done = new Set(applied.map((row) => row.version));
    const newlyApplied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await session.transaction(async (tx) => {
        await tx.exec(migration.sql);
        await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
      });
      newlyApplied.push(migration.version);
    }
    const current = Math.max(0, ...applied.map((row) => row.version), ...newlyApplied);
    return { applied: newlyApplied, current };
  });
}

/** Applied versions, oldest first (empty when the table does not exist yet). */
export async function appliedMigrations(db: SqlClient): Promise<AppliedRow[]> {
  const exists = await db.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  );
  if (!exists.rows[0]?.present) return [];
  const { rows } = await db.query<Record<string, unknown>>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  return rows.map((row) => ({
    version: asNumber(row.version, 'version'),
    name: asString(row.name, 'name'),
    checksum: asString(row.checksum, 'checksum'),
  }));
}
