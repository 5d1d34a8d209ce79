/**
 * `groq-governor keys ...` end to end through the command's `run` with a capturing CliIO: on a PGlite
 * data folder, and on DATABASE_URL when a PostgreSQL server answers. Keys printed by the CLI are then
 * presented to `authenticate` on the same ledger.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../../client/cli/commands/keys';
import { operatorName } from '../../../client/cli/operator';
import type { CliIO } from '../../../client/cli/io';
import { createAuthenticator } from '../../../client/services/gateway-keys';
import { EXAMPLE_CONFIG_PATH } from '../../../domain/config';
import { openLedger, type OpenLedgerOptions } from '../../../ledger/open';
import type { LedgerStore } from '../../../ledger/store';
import { postgresTarget } from '../ledger/harness';
import { dumpDatabase, KEY_PATTERN, postgresOrBanner } from './harness';

function capture(): CliIO & { out: string[]; err: string[]; all(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    all: () => [...out, ...err].join('\n'),
  };
}

/** Runs the command; returns its exit code and what it printed. */
async function keys(...argv: string[]) {
  const io = capture();
  const code = await run(argv, io);
  return { code, io, out: io.out.join('\n'), err: io.err.join('\n') };
}

/** The single key a command printed (it must print exactly one, exactly once). */
function printedKey(text: string): string {
  const found = text.match(KEY_PATTERN) ?? [];
  expect(found).toHaveLength(1);
  return found[0] ?? '';
}

function printedId(text: string): string {
  const id = /id:\s+(key_[0-9A-Za-z]{12})/.exec(text)?.[1];
  if (!id) throw new Error(`no key id in:\n${text}`);
  return id;
}

const { url, unavailable } = await postgresOrBanner('GATEWAY KEY CLI TESTS');

describe('groq-governor keys', () => {
  const saved = process.env.DATABASE_URL;
  let folder: string;
  beforeEach(async () => {
    delete process.env.DATABASE_URL;
    folder = await mkdtemp(join(tmpdir(), 'gg-keys-cli-'));
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
    await rm(folder, { recursive: true, force: true });
  });

  /** Opens the folder's ledger, runs `fn`, closes it (the CLI needs the PGlite folder to itself). */
  async function withLedger<T>(
    fn: (ledger: LedgerStore) => Promise<T>,
    options?: OpenLedgerOptions,
  ): Promise<T> {
    const ledger = await openLedger(options ?? { dataDir: folder, databaseUrl: null });
    try {
      return await fn(ledger);
    } finally {
      await ledger.close();
    }
  }

  it('bootstrap prints the first org-admin key once, then refuses without --force', async () => {
    const first = await keys('bootstrap', '--data-dir', folder, '--name', 'root key');
    expect(first.code).toBe(0);
    expect(first.out).toContain(`ledger: PGlite at ${join(folder, 'ledger')}`);
    const key = printedKey(first.out);
    const id = printedId(first.out);
    expect(first.out).toMatch(/role:\s+org-admin/);
    expect(first.out).toMatch(/will not be shown again/);

    const again = await keys('bootstrap', '--data-dir', folder);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists/);
    expect(again.err).toContain('--force');
    expect(again.io.all().match(KEY_PATTERN)).toBeNull();

    const forced = await keys('bootstrap', '--data-dir', folder, '--force');
    expect(forced.code).toBe(0);
    expect(printedKey(forced.out)).not.toBe(key);

    await withLedger(async (ledger) => {
      const result = await createAuthenticator(ledger).authenticate(`Bearer ${key}`);
      expect(result).toEqual({ ok: true, principal: { keyId: id, role: 'org-admin', team: null } });
      const audit = await ledger.listAudit({ action: 'keys.bootstrap' });
      expect(audit).toHaveLength(2);
      expect(audit.every((entry) => entry.actor === operatorName())).toBe(true);
      expect(operatorName()).toMatch(/^cli:.+/);
    });
  });

  it('create prints a working key once with its id; list shows it without secrets; revoke ends it', async () => {
    const created = await keys(
      'create',
      '--team',
      'chatbot',
      '--role',
      'member',
      '--name',
      'support bot',
      '--expires',
      '30d',
      '--models',
      'llama-3.1-8b-instant, llama-3.3-70b-versatile',
      '--data-dir',
      folder,
    );
    expect(created.code).toBe(0);
    const key = printedKey(created.io.all());
    const id = printedId(created.out);
    expect(key.startsWith(`ggk_${id.slice(4)}_`)).toBe(true);
    expect(created.out).toMatch(/team:\s+chatbot/);
    expect(created.out).toMatch(/models:\s+llama-3.1-8b-instant, llama-3.3-70b-versatile/);
    expect(created.out).toMatch(/expires:\s+\d{4}-\d\d-\d\dT/);
    expect(created.out).toMatch(/shown only once and will not be shown again/);

    await withLedger(async (ledger) => {
      expect(await createAuthenticator(ledger).authenticate(key)).toEqual({
        ok: true,
        principal: {
          keyId: id,
          role: 'member',
          team: 'chatbot',
          models: ['llama-3.1-8b-instant', 'llama-3.3-70b-versatile'],
        },
      });
      const everything = await dumpDatabase(ledger);
      expect(everything).not.toContain(key.slice(17));
    });

    const viewer = await keys('create', '--team', 'analytics', '--role', 'viewer', '--data-dir', folder);
    expect(viewer.code).toBe(0);
    const viewerId = printedId(viewer.out);

    const listed = await keys('list', '--data-dir', folder);
    expect(listed.code).toBe(0);
    const lines = listed.out.split('\n').slice(1); // after the ledger line
    expect(lines[0]).toMatch(/^ID\s+TEAM\s+ROLE\s+STATUS\s+NAME/);
    expect(lines).toHaveLength(3);
    expect(listed.out).toMatch(new RegExp(`${id}\\s+chatbot\\s+member\\s+active\\s+support bot`));
    expect(listed.out).toMatch(new RegExp(`${viewerId}\\s+analytics\\s+viewer\\s+active`));
    expect(listed.out).toContain(operatorName());
    expect(listed.out.match(KEY_PATTERN)).toBeNull();
    expect(listed.out).not.toContain(key.slice(17));
    expect(listed.out).not.toMatch(/[0-9a-f]{64}/);

    const onlyAnalytics = await keys('list', '--team', 'analytics', '--data-dir', folder);
    expect(onlyAnalytics.out).toContain(viewerId);
    expect(onlyAnalytics.out).not.toContain(id);

    const revoked = await keys('revoke', id, '--data-dir', folder);
    expect(revoked.code).toBe(0);
    expect(revoked.out).toMatch(new RegExp(`Revoked member key ${id}`));
    const twice = await keys('revoke', id, '--data-dir', folder);
    expect(twice.code).toBe(0);
    expect(twice.out).toMatch(/already revoked/);

    await withLedger(async (ledger) => {
      expect(await createAuthenticator(ledger).authenticate(key)).toMatchObject({ code: 'revoked_api_key' });
      const audit = await ledger.listAudit({ target: `gateway_key:${id}` });
      expect(audit.map((entry) => [entry.action, entry.actor])).toEqual([
        ['keys.revoke', operatorName()],
        ['keys.issue', operatorName()],
      ]);
    });

    const active = await keys('list', '--data-dir', folder);
    expect(active.out).not.toContain(id);
    const all = await keys('list', '--all', '--data-dir', folder);
    expect(all.out).toMatch(new RegExp(`${id}\\s+chatbot\\s+member\\s+revoked`));
  });

  it('uses --config for teams and models', async () => {
    // "research" exists only in the annotated example
    const withDefault = await keys('create', '--team', 'research', '--role', 'member', '--data-dir', folder);
    expect(withDefault.code).toBe(1);
    expect(withDefault.err).toMatch(/unknown team "research"/);
    const withExample = await keys(
      'create',
      '--config',
      EXAMPLE_CONFIG_PATH,
      '--team',
      'research',
      '--role',
      'member',
      '--data-dir',
      folder,
    );
    expect(withExample.code).toBe(0);
    printedKey(withExample.out);

    const broken = join(folder, 'broken.yaml');
    await writeFile(broken, 'org: [not, a, map]\n');
    const bad = await keys(
      'create',
      '--config',
      broken,
      '--team',
      'chatbot',
      '--role',
      'member',
      '--data-dir',
      folder,
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(broken);
  });

  it('refuses bad requests with a reason and prints no key', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['create', '--team', 'chatbot'], 2, /--role is required/],
      [['create', '--team', 'chatbot', '--role', 'owner'], 1, /unknown role "owner"/],
      [['create', '--team', 'chatbot', '--role', 'org-admin'], 1, /no team/],
      [
        ['create', '--team', 'analytics', '--role', 'member', '--models', 'llama-3.3-70b-versatile'],
        1,
        /may not use/,
      ],
      [['create', '--team', 'chatbot', '--role', 'member', '--expires', 'forever'], 1, /positive duration/],
      [['create', '--team', 'chatbot', '--role', 'member', '--frobnicate'], 2, /frobnicate/],
      [['list', '--team', 'chatbot', '--org'], 2, /exclude each other/],
      [['list', 'extra'], 2, /unexpected argument "extra"/],
      [['revoke'], 2, /exactly one key id/],
      [['revoke', 'key_doesnotexist1'], 1, /no gateway key "key_doesnotexist1"/],
      [['rotate'], 2, /unknown command "rotate"/],
    ];
    for (const [argv, code, message] of cases) {
      const result = await keys(...argv, '--data-dir', folder);
      expect(result.code, argv.join(' ')).toBe(code);
      expect(result.err, argv.join(' ')).toMatch(message);
      expect(result.io.all().match(KEY_PATTERN), argv.join(' ')).toBeNull();
    }
    await withLedger(async (ledger) => {
      expect(await ledger.listGatewayKeys({ includeRevoked: true })).toEqual([]);
    });
  });

  it('prints its usage', async () => {
    const help = await keys('--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/keys create --team T --role R/);
    expect((await keys()).code).toBe(2);
    expect((await keys('list', '--help')).code).toBe(0);
  });

  it('lists org-level keys with --org', async () => {
    await keys('bootstrap', '--data-dir', folder);
    await keys('create', '--role', 'viewer', '--data-dir', folder);
    await keys('create', '--team', 'chatbot', '--role', 'team-admin', '--data-dir', folder);
    const org = await keys('list', '--org', '--data-dir', folder);
    const rows = org.out.split('\n').slice(2);
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => /\(org\)/.test(row))).toBe(true);
  });

  describe.skipIf(unavailable !== null)('with DATABASE_URL', () => {
    const target = postgresTarget(url, 4);
    afterAll(() => target.cleanup());

    it('creates, lists and revokes keys in PostgreSQL', async () => {
      const { databaseUrl } = await target.fresh();
      process.env.DATABASE_URL = databaseUrl ?? '';
      const created = await keys('create', '--team', 'chatbot', '--role', 'member');
      expect(created.code).toBe(0);
      expect(created.out).toMatch(/^ledger: PostgreSQL at /);
      const key = printedKey(created.out);
      const id = printedId(created.out);
      await withLedger(
        async (ledger) => {
          expect((await createAuthenticator(ledger).authenticate(key)).ok).toBe(true);
        },
        { databaseUrl: databaseUrl ?? null },
      );
      expect((await keys('list')).out).toContain(id);
      expect((await keys('revoke', id)).code).toBe(0);
      await withLedger(
        async (ledger) => {
          expect(await createAuthenticator(ledger).authenticate(key)).toMatchObject({
            code: 'revoked_api_key',
          });
        },
        { databaseUrl: databaseUrl ?? null },
      );
    });
  });
});
