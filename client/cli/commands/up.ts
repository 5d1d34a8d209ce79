/**
 * `groq-governor up`: everything on embedded defaults in one process tree, until Ctrl-C. A bad config
 * file is reported field by field and nothing starts. Flags and environment variables let several
 * stacks run side by side (each with its own data folder and ports).
 */
import type { GovernorConfig } from '../../../domain/config';
import { demoCommands, ensureFirstRunKeys } from '../../services/first-run-keys';
import { resolveDataDir } from '../../services/paths';
import { startStack, type RunningStack } from '../../services/stack';
import { parseFlags, portOption, untilSignal } from '../args';
import { checkedConfig } from './checked-config';
import type { CliIO } from '../io';

const USAGE =
  'groq-governor up [--config FILE] [--data-dir DIR] [--port N] [--emulator-port N] [--temporal-port N] [--temporal-ui-port N]';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseFlags(
    argv,
    {
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      'emulator-port': { type: 'string' },
      'temporal-port': { type: 'string' },
      'temporal-ui-port': { type: 'string' },
    },
    USAGE,
    io,
  );
  if (!parsed) return 2;
  const flags = parsed.values;
  let ports: { gateway: number; emulator: number; temporal: number; temporalUi: number };
  try {
    const gateway = portOption(flags.port, 'GOVERNOR_PORT', 8080);
    const temporal = portOption(flags['temporal-port'], 'GOVERNOR_TEMPORAL_PORT', 7233);
    ports = {
      gateway,
      emulator: portOption(flags['emulator-port'], 'GOVERNOR_EMULATOR_PORT', gateway + 1),
      temporal,
      temporalUi: portOption(flags['temporal-ui-port'], 'GOVERNOR_TEMPORAL_UI_PORT', temporal + 1000),
    };
  } catch (error) {
    io.stderr(`${(error as Error).message}\nusage: ${USAGE}`);
    return 2;
  }

  const dataDir = resolveDataDir(flags['data-dir']);
  const checked = await checkedConfig(flags.config, dataDir, io);
  if (!checked) return 1;
  const { config } = checked;
  io.stdout(`Config: ${checked.source}`);

  const stack = await startStack({
    config,
    dataDir,
    temporalPort: ports.temporal,
    temporalUiPort: ports.temporalUi,
    emulatorPort: ports.emulator,
    gatewayPort: ports.gateway,
    log: (line) => io.stdout(line),
  });
  const check = stack.selfCheck;
  io.stdout(
    `Self-check: ledger schema v${check.ledgerSchemaVersion}; upstream ${
      check.upstream.ok
        ? `ok (${check.upstream.models} models)`
        : `NOT ok: ${check.upstream.error ?? 'unknown'}`
    }`,
  );
  io.stdout('');
  io.stdout(`  Gateway:          ${stack.gateway.url}  (OpenAI base URL: ${stack.gateway.url}/openai/v1)`);
  io.stdout(
    `  Admin console:    ${stack.gateway.url}/console/  (sign in with an org-admin, team-admin or viewer key)`,
  );
  io.stdout(`  Data folder:      ${dataDir}`);
  io.stdout(`  Temporal:         ${stack.temporal.target.address}`);
  if (stack.temporal.uiUrl) io.stdout(`  Temporal Web UI:  ${stack.temporal.uiUrl}`);
  io.stdout(
    `  Groq upstream:    ${stack.upstream.baseURL}${stack.upstream.kind === 'emulator' ? ' (emulator)' : ''}`,
  );
  io.stdout(`  Ledger:           ${stack.ledgerDescription}`);
  io.stdout('');
  await printFirstRunKeys(stack, config, dataDir, io);
  io.stdout('Ready. Ctrl-C stops everything this command started.');

  const outcome = await Promise.race([
    untilSignal().then((signal) => ({ signal })),
    stack.workerDone.then(
      () => ({ workerStopped: 'stopped' as const }),
      (error: unknown) => ({ workerStopped: String(error) }),
    ),
  ]);
  io.stdout('Stopping...');
  await stack.stop();
  if ('workerStopped' in outcome) {
    io.stderr(`the worker stopped on its own: ${outcome.workerStopped}`);
    return 1;
  }
  io.stdout('Stopped.');
  return 0;
}

/** First start of a data folder: the demo key once, with commands that work as printed. */
async function printFirstRunKeys(
  stack: RunningStack,
  config: GovernorConfig,
  dataDir: string,
  io: CliIO,
): Promise<void> {
  const keys = await ensureFirstRunKeys({ ledger: stack.ledger, config, dataDir });
  if (keys.kind === 'exists') {
    io.stdout(`First-run keys: ${keys.path} (issued on the first start; not shown again)`);
    io.stdout('');
  }
  if (keys.kind !== 'created') return;
  io.stdout(
    `First run: an org-admin key${keys.demo ? ` and a demo member key for team ${keys.demo.team}` : ''}`,
  );
  io.stdout(`are in ${keys.path} (readable by you only). They are not shown again.`);
  if (keys.demo) {
    const commands = demoCommands(stack.gateway.url, keys.demo.issued.key, keys.demo.model);
    io.stdout('');
    io.stdout(`Demo key: ${keys.demo.issued.key}`);
    io.stdout('');
    io.stdout('Try it with curl:');
    io.stdout('');
    io.stdout(`  ${commands.curl}`);
    io.stdout('');
    io.stdout('or with groq-sdk (from this folder):');
    io.stdout('');
    io.stdout(`  ${commands.groqSdk}`);
  }
  io.stdout('');
}
