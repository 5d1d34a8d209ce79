/** `groq-governor migrate` on a PGlite data folder and, when a server answers, on DATABASE_URL. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../../client/cli/commands/migrate';
import type { CliIO } from '../../../client/cli/io';
import { loadMigrations } from '../../../ledger/migrate';
import { postgresTarget, probePostgres, testDatabaseUrl, warnPostgresSkipped } from './harness';

function capture(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (text) => out.push(text), stderr: (text) => err.push(text) };
}

const url = testDatabaseUrl();
const unavailable = await probePostgres(url);
if (unavailable) warnPostgresSkipped(url, unavailable);

describe('groq-governor migrate', () => {
  const saved = process.env.DATABASE_URL;
  let folder: string;
  let latest: number;
  beforeEach(async () => {
    delete process.env.DATABASE_URL;
    folder = await mkdtemp(join(tmpdir(), 'gg-migrate-cli-'));
    latest = (await loadMigrations()).length;
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
    await rm(folder, { recursive: true, force: true });
  });

  it('applies every migration to <data-dir>/ledger, then reports it is up to date', async () => {
    const first = capture();
    expect(await run(['--data-dir', folder], first)).toBe(0);
    const all = Array.from({ length: latest }, (_, i) => i + 1).join(', ');
    expect(first.out).toEqual([
      `ledger: PGlite at ${join(folder, 'ledger')}`,
      `applied: ${all}`,
      `current version: ${latest}`,
    ]);
    const second = capture();
    expect(await run([`--data-dir=${folder}`], second)).toBe(0);
    expect(second.out.slice(1)).toEqual(['applied: none (already up to date)', `current version: ${latest}`]);
  });

  it('rejects unknown arguments with exit code 2', async () => {
    const io = capture();
    expect(await run(['--data-dir'], io)).toBe(2);
    expect(await run(['--frobnicate'], io)).toBe(2);
    expect(io.err.join('\n')).toMatch(/unexpected argument "--frobnicate"/);
  });

  describe.skipIf(unavailable !== null)('with DATABASE_URL', () => {
    const target = postgresTarget(url);
    afterAll(() => target.cleanup());

    it('migrates the PostgreSQL database and never prints its password', async () => {
      const { databaseUrl } = await target.fresh();
      const withPassword = new URL(databaseUrl ?? '');
      withPassword.password = 'hunter2';
      process.env.DATABASE_URL = withPassword.toString();
      const io = capture();
      expect(await run([], io)).toBe(0);
      expect(io.out[0]).toMatch(/^ledger: PostgreSQL at postgres:\/\/postgres:\*\*\*@/);
      expect(io.out.join('\n')).not.toContain('hunter2');
      expect(io.out.at(-1)).toBe(`current version: ${latest}`);
    });

    it('reports a database it cannot reach with exit code 1', async () => {
      const missing = new URL(url);
      missing.pathname = '/gg_test_does_not_exist';
      process.env.DATABASE_URL = missing.toString();
      const io = capture();
      expect(await run([], io)).toBe(1);
      expect(io.err.join('\n')).toMatch(/gg_test_does_not_exist/);
    });
  });
});
