/**
 * `groq-governor keys upstream add|list`: versions of upstream (Groq) keys. `add` reads the secret from
 * stdin or from the environment variable `--from-env` names, never from the command line (argv is
 * visible to every user of the machine), stores it encrypted in the data folder's secret store and
 * prints only its fingerprint (`gsk_…last4`). The first version of a name is active at once; later ones
 * are `next`, for `groq-governor rotate start NAME`.
 */
import { encryptedFileSecretStore } from '../../../activities/secret-store';
import { describeLedgerTarget, openLedger, resolveLedgerTarget, type LedgerStore } from '../../../ledger';
import { resolveDataDir } from '../../services/paths';
import {
  addUpstreamKeyVersion,
  listUpstreamKeyVersions,
  UpstreamKeyError,
} from '../../services/upstream-key-versions';
import { parseFlags } from '../args';
import type { CliIO } from '../io';
import { operatorName } from '../operator';

export const UPSTREAM_USAGE = `usage: groq-governor keys upstream <command> [options]

  keys upstream add NAME [--from-env VAR]
        add a version of the Groq key NAME ({team}-{env}-{purpose}); the secret is read from stdin,
        or from the environment variable VAR; never give it as an argument
  keys upstream list
        every key name's versions with their states and fingerprints

options:
  --data-dir DIR   data folder (secret store, PGlite ledger; default GOVERNOR_DATA_DIR, else .data);
                   DATABASE_URL selects PostgreSQL for the ledger
  the master key of the secret store is GOVERNOR_SECRETS_KEY, else <data folder>/secrets.key`;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(
  argv: string[],
  io: CliIO,
  stdin: () => Promise<string> = () => readAll(process.stdin),
): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'add' && command !== 'list') {
    io.stderr(
      command === undefined ? UPSTREAM_USAGE : `groq-governor keys upstream: unknown command "${command}"`,
    );
    if (command !== undefined) io.stderr(UPSTREAM_USAGE);
    return 2;
  }
  const parsed = parseFlags(
    rest,
    { 'data-dir': { type: 'string' }, 'from-env': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    UPSTREAM_USAGE,
    io,
  );
  if (!parsed) return 2;
  if (parsed.values.help) {
    io.stdout(UPSTREAM_USAGE);
    return 0;
  }
  const positionals = parsed.positionals;
  if (command === 'add' ? positionals.length !== 1 : positionals.length !== 0) {
    io.stderr(
      command === 'add'
        ? 'groq-governor keys upstream add: name exactly one key, and give the secret on stdin or with --from-env'
        : `groq-governor keys upstream list: unexpected argument "${positionals[0]}"`,
    );
    return 2;
  }
  const dataDir = resolveDataDir(parsed.values['data-dir']);

  let secret = '';
  if (command === 'add') {
    const variable = parsed.values['from-env'];
    if (variable !== undefined) {
      secret = process.env[variable] ?? '';
      if (secret === '') {
        io.stderr(`groq-governor keys upstream add: the environment variable ${variable} is not set`);
        return 1;
      }
    } else {
      if (process.stdin.isTTY) io.stderr('Paste the Groq API key, then press Enter and Ctrl-D:');
      secret = (await stdin()).trim();
      if (secret === '') {
        io.stderr('groq-governor keys upstream add: no secret on stdin');
        return 1;
      }
    }
  }

  let ledger: LedgerStore;
  try {
    io.stdout(`ledger: ${describeLedgerTarget(resolveLedgerTarget({ dataDir }))}`);
    ledger = await openLedger({ dataDir });
  } catch (error) {
    io.stderr(`groq-governor keys upstream: ${(error as Error).message}`);
    return 1;
  }
  try {
    const store = await encryptedFileSecretStore({ dataDir });
    if (command === 'add') {
      const added = await addUpstreamKeyVersion({
        ledger,
        store,
        keyName: positionals[0]!,
        secret,
        actor: operatorName(),
      });
      io.stdout(
        `Added ${added.keyName} version ${added.version} (${added.fingerprint}), ${added.state}.` +
          (added.state === 'next'
            ? `\nRotate to it without downtime: groq-governor rotate start ${added.keyName}`
            : ' New requests with this key name use it.'),
      );
      return 0;
    }
    const rows = await listUpstreamKeyVersions(ledger, store);
    if (rows.length === 0) {
      io.stdout('No upstream key versions (keys without versions resolve from the environment).');
      return 0;
    }
    const header = ['NAME', 'VERSION', 'STATE', 'FINGERPRINT', 'SUSPECT', 'SECRET'];
    const table = rows.map((row) => [
      row.keyName,
      String(row.version),
      row.state + (row.canaryPercent > 0 ? ` (canary ${row.canaryPercent}%)` : ''),
      row.fingerprint,
      row.suspect ? 'yes (401)' : '-',
      row.hasSecret ? 'stored' : 'removed',
    ]);
    const widths = header.map((title, i) => Math.max(title.length, ...table.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]) =>
      cells
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd();
    io.stdout([line(header), ...table.map(line)].join('\n'));
    return 0;
  } catch (error) {
    if (error instanceof UpstreamKeyError) {
      io.stderr(`groq-governor keys upstream ${command}: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await ledger.close();
  }
}
