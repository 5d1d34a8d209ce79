/**
 * `groq-governor` command dispatcher. Each command lives in its own module under commands/ and is
 * loaded only when asked for, so `config check` never pays for Temporal's native bridge.
 */
import { processIO, type CliCommand, type CliIO } from './io';

interface CommandEntry {
  summary: string;
  load: () => Promise<CliCommand>;
}

const commands: Record<string, CommandEntry> = {
  up: {
    summary: 'start everything on embedded defaults: Temporal dev server, ledger, emulator, worker',
    load: async () => (await import('./commands/up')).run,
  },
  worker: {
    summary: 'worker: one worker process joining a deployment (TEMPORAL_ADDRESS, DATABASE_URL, Groq keys)',
    load: async () => (await import('./commands/worker')).run,
  },
  gateway: {
    summary: 'gateway [--port N]: one HTTP gateway process joining a deployment',
    load: async () => (await import('./commands/gateway')).run,
  },
  temporal: {
    summary: 'temporal install|start: the pinned Temporal CLI and its dev server',
    load: async () => (await import('./commands/temporal')).run,
  },
  config: {
    summary: 'config check FILE: validate a configuration file and list every problem',
    load: async () => (await import('./commands/config')).run,
  },
  emulator: {
    summary: 'emulator [--port N] [--config FILE]: run the local Groq emulator',
    load: async () => (await import('./commands/emulator')).run,
  },
  keys: {
    summary: 'keys create|list|revoke|bootstrap: gateway keys (shown once, stored hashed)',
    load: async () => (await import('./commands/keys')).run,
  },
  report: {
    summary: 'report run|backfill|schedule: weekly usage reports on demand and their Schedule',
    load: async () => (await import('./commands/report')).run,
  },
  rotate: {
    summary:
      'rotate start|status|approve|abort|skip-monitor|confirm-deleted NAME: zero-downtime key rotation',
    load: async () => (await import('./commands/rotate')).run,
  },
  batch: {
    summary: 'batch submit|status|results|cancel: batch jobs through a gateway (groq-sdk, a gateway key)',
    load: async () => (await import('./commands/batch')).run,
  },
  migrate: {
    summary: 'migrate: apply the ledger migrations (PGlite data folder or DATABASE_URL)',
    load: async () => (await import('./commands/migrate')).run,
  },
};

function usage(io: CliIO): void {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  io.stdout('usage: groq-governor <command> [options]\n');
  for (const [name, entry] of Object.entries(commands))
    io.stdout(`  ${name.padEnd(width)}  ${entry.summary}`);
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    usage(io);
    return name ? 0 : 2;
  }
  const entry = commands[name];
  if (!entry) {
    io.stderr(`groq-governor: unknown command "${name}"`);
    usage(io);
    return 2;
  }
  const command = await entry.load();
  return command(rest, io);
}
