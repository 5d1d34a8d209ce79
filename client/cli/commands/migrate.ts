/**
 * `groq-governor migrate [--data-dir DIR]`: apply the ledger migrations and report the schema version.
 * Uses PostgreSQL when DATABASE_URL is set, else PGlite in `<DIR>/ledger` (DIR defaults to `.data`).
 */
import {
  describeLedgerTarget,
  openLedger,
  resolveLedgerTarget,
  type OpenLedgerOptions,
} from '../../../ledger/open';
import type { CliIO } from '../io';

const USAGE = `usage: groq-governor migrate [--data-dir DIR]

Applies the ledger's pending migrations, in order, each in its own transaction, and prints the
versions applied and the current version. PostgreSQL when DATABASE_URL is set (safe to run from
several processes at once), else the embedded PGlite database in DIR/ledger (default DIR: .data).`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const options: OpenLedgerOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      io.stdout(USAGE);
      return 0;
    }
    if (arg === '--data-dir' || arg.startsWith('--data-dir=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!value) {
        io.stderr('groq-governor migrate: --data-dir needs a folder');
        return 2;
      }
      options.dataDir = value;
      continue;
    }
    io.stderr(`groq-governor migrate: unexpected argument "${arg}"`);
    io.stderr(USAGE);
    return 2;
  }

  const target = resolveLedgerTarget(options);
  io.stdout(`ledger: ${describeLedgerTarget(target)}`);
  let ledger;
  try {
    ledger = await openLedger(options);
  } catch (error) {
    io.stderr(`groq-governor migrate: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  try {
    const { applied, current } = ledger.migrations;
    io.stdout(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'applied: none (already up to date)');
    io.stdout(`current version: ${current}`);
    return 0;
  } finally {
    await ledger.close();
  }
}
