/**
 * `groq-governor keys create|list|revoke|bootstrap`: gateway keys from the command line. The CLI has
 * direct access to the ledger, so it acts as the operator (allowed everything); each change is audited
 * as `cli:<os user>`. A new key is printed once and never again: only its hash is stored.
 */
import { ConfigError, loadConfigOrThrow, type GovernorConfig } from '../../../domain/config';
import type { Role } from '../../../domain/rbac';
import { LedgerError } from '../../../ledger/errors';
import {
  describeLedgerTarget,
  openLedger,
  resolveLedgerTarget,
  type OpenLedgerOptions,
} from '../../../ledger/open';
import type { LedgerStore } from '../../../ledger/store';
import {
  bootstrapOrgAdmin,
  GatewayKeyError,
  issueKey,
  listKeys,
  revokeKey,
  type IssuedKey,
  type ListedKey,
} from '../../services/gateway-keys';
import { parseSubcommand, type Options } from '../args';
import type { CliIO } from '../io';
import { operatorName } from '../operator';

const USAGE = `usage: groq-governor keys <command> [options]

  keys create --team T --role R [--name N] [--expires DURATION] [--models a,b]
        issue a key and print it once (roles: org-admin, team-admin, member, viewer;
        org-admin keys and org-level viewer keys take no --team; DURATION like 30d, 12h)
  keys list [--team T | --org] [--all]
        the keys (never their secrets); --all includes revoked and expired ones
  keys revoke ID
        revoke a key at once
  keys bootstrap [--name N] [--force]
        issue the first org-admin key; refused while an active one exists unless --force
  keys upstream add NAME | list
        versions of upstream Groq keys (secret from stdin or --from-env; see keys upstream --help)

options for every command:
  --config FILE    configuration (default: GOVERNOR_CONFIG, else the embedded defaults)
  --data-dir DIR   data folder of the PGlite ledger (default: GOVERNOR_DATA_DIR, else .data);
                   DATABASE_URL selects PostgreSQL instead`;

const COMMON = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

const SUBCOMMANDS = {
  create: {
    ...COMMON,
    team: { type: 'string' },
    role: { type: 'string' },
    name: { type: 'string' },
    expires: { type: 'string' },
    models: { type: 'string' },
  },
  list: { ...COMMON, team: { type: 'string' }, org: { type: 'boolean' }, all: { type: 'boolean' } },
  revoke: { ...COMMON },
  bootstrap: { ...COMMON, name: { type: 'string' }, force: { type: 'boolean' } },
} as const satisfies Record<string, Options>;

export async function run(argv: string[], io: CliIO): Promise<number> {
  if (argv[0] === 'upstream') return (await import('./upstream-keys')).run(argv.slice(1), io);
  const parsed = parseSubcommand('keys', argv, SUBCOMMANDS, USAGE, io);
  if (typeof parsed === 'number') return parsed;
  const { command, flags, text, positionals } = parsed;
  if (command === 'revoke' ? positionals.length !== 1 : positionals.length !== 0) {
    io.stderr(
      command === 'revoke'
        ? 'groq-governor keys revoke: name exactly one key id'
        : `groq-governor keys ${command}: unexpected argument "${positionals[0]}"`,
    );
    io.stderr(USAGE);
    return 2;
  }
  if (command === 'list' && flags.org === true && text('team') !== undefined) {
    io.stderr('groq-governor keys list: --team and --org exclude each other');
    return 2;
  }

  if (command === 'create' && text('role') === undefined) {
    io.stderr('groq-governor keys create: --role is required (org-admin, team-admin, member or viewer)');
    return 2;
  }

  const dataDir = text('data-dir') ?? process.env.GOVERNOR_DATA_DIR;
  const options: OpenLedgerOptions = dataDir !== undefined ? { dataDir } : {};
  const actor = operatorName();

  // the configuration is read (and must be valid) before the ledger is touched
  let config: GovernorConfig | undefined;
  if (command === 'create') {
    try {
      const loaded = await loadConfigOrThrow(text('config') ?? process.env.GOVERNOR_CONFIG, {
        ...(dataDir !== undefined ? { dataDir } : {}),
      });
      for (const warning of loaded.warnings) io.stderr(`warning: ${warning.path}: ${warning.message}`);
      config = loaded.config;
    } catch (error) {
      if (error instanceof ConfigError) {
        io.stderr(error.message);
        return 1;
      }
      throw error;
    }
  }

  let ledger: LedgerStore;
  try {
    io.stdout(`ledger: ${describeLedgerTarget(resolveLedgerTarget(options))}`);
    ledger = await openLedger(options);
  } catch (error) {
    io.stderr(`groq-governor keys: ${messageOf(error)}`);
    if (error instanceof LedgerError && error.code === 'data_dir_in_use')
      io.stderr(
        'Another command opened this PGlite data folder by itself and still holds it: wait for it to finish, ' +
          'or start `groq-governor up`, which serves the folder to every command.',
      );
    return 1;
  }

  try {
    switch (command) {
      case 'create': {
        const role = text('role');
        if (config === undefined || role === undefined) throw new Error('keys create: checked above');
        const models = text('models');
        const issued = await issueKey(
          ledger,
          'operator',
          {
            team: text('team') ?? null,
            role: role as Role,
            ...(text('name') !== undefined ? { name: text('name') } : {}),
            ...(text('expires') !== undefined ? { expiresIn: text('expires') } : {}),
            ...(models !== undefined ? { models: splitList(models) } : {}),
          },
          config,
          { auditActor: actor },
        );
        printIssued(io, issued);
        return 0;
      }
      case 'list': {
        const team = flags.org === true ? null : text('team');
        const keys = await listKeys(ledger, 'operator', {
          ...(team !== undefined ? { team } : {}),
          includeInactive: flags.all === true,
        });
        printTable(io, keys, flags.all === true);
        return 0;
      }
      case 'revoke': {
        const id = positionals[0] ?? '';
        const { record, changed } = await revokeKey(ledger, 'operator', id, { auditActor: actor });
        const what = `${record.role} key ${record.id} (${record.team === null ? 'org-level' : `team ${record.team}`}, "${record.name}")`;
        io.stdout(
          changed
            ? `Revoked ${what}. It is refused from now on (gateways that cached it: within 5 s).`
            : `${what} was already revoked at ${formatDate(record.revokedAt)}; nothing changed.`,
        );
        return 0;
      }
      case 'bootstrap': {
        const issued = await bootstrapOrgAdmin(ledger, {
          ...(text('name') !== undefined ? { name: text('name') } : {}),
          force: flags.force === true,
          auditActor: actor,
        });
        printIssued(io, issued);
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof GatewayKeyError) {
      io.stderr(`groq-governor keys ${command}: ${error.message}`);
      if (error.code === 'already_bootstrapped') io.stderr('Run again with --force to issue another one.');
      return 1;
    }
    throw error;
  } finally {
    await ledger.close();
  }
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function formatDate(date: Date | null): string {
  return date === null ? '-' : `${date.toISOString().slice(0, 19)}Z`;
}

function printIssued(io: CliIO, { key, record }: IssuedKey): void {
  io.stdout(
    [
      `Created ${record.role} key ${record.id}.`,
      `  id:       ${record.id}`,
      `  name:     ${record.name}`,
      `  team:     ${record.team ?? '(org-level)'}`,
      `  role:     ${record.role}`,
      `  models:   ${record.models ? record.models.join(', ') : record.team === null ? '-' : "(the team's)"}`,
      `  expires:  ${record.expiresAt ? formatDate(record.expiresAt) : 'never'}`,
      '',
      `  ${key}`,
      '',
      'This key is shown only once and will not be shown again: only its hash is stored. Copy it now.',
    ].join('\n'),
  );
}

function printTable(io: CliIO, keys: ListedKey[], all: boolean): void {
  if (keys.length === 0) {
    io.stdout(all ? 'No keys.' : 'No active keys (--all shows revoked and expired ones).');
    return;
  }
  const header = ['ID', 'TEAM', 'ROLE', 'STATUS', 'NAME', 'MODELS', 'EXPIRES', 'LAST USED', 'CREATED BY'];
  const rows = keys.map((key) => [
    key.id,
    key.team ?? '(org)',
    key.role,
    key.status,
    key.name,
    key.models ? key.models.join(',') : '-',
    key.expiresAt ? formatDate(key.expiresAt) : 'never',
    formatDate(key.lastUsedAt),
    key.createdBy,
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  io.stdout([line(header), ...rows.map(line)].join('\n'));
}
