/**
 * `groq-governor temporal install` installs the pinned Temporal binaries (or reuses a fitting one on PATH);
 * `groq-governor temporal start` runs the dev server with its SQLite file in the data folder until Ctrl-C.
 */
import { ensureTemporal } from '../../../scripts/install-temporal.mjs';
import { resolveDataDir } from '../../services/paths';
import { startDevServer } from '../../services/temporal-dev-server';
import { parseFlags, portOption, untilSignal } from '../args';
import type { CliIO } from '../io';

const USAGE = 'groq-governor temporal install | start [--data-dir DIR] [--port N] [--ui-port N]';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const parsed = parseFlags(
    argv,
    { 'data-dir': { type: 'string' }, port: { type: 'string' }, 'ui-port': { type: 'string' } },
    USAGE,
    io,
  );
  if (!parsed) return 2;
  const [action] = parsed.positionals;
  if (action === 'install') {
    const binaries = ensureTemporal();
    io.stdout(`temporal ${binaries.cliVersion}: ${binaries.temporal}\ntest server: ${binaries.testServer}`);
    return 0;
  }
  if (action !== 'start') {
    io.stderr(`usage: ${USAGE}`);
    return 2;
  }
  const port = portOption(parsed.values.port, 'GOVERNOR_TEMPORAL_PORT', 7233);
  const server = await startDevServer({
    dataDir: resolveDataDir(parsed.values['data-dir']),
    port,
    uiPort: portOption(parsed.values['ui-port'], 'GOVERNOR_TEMPORAL_UI_PORT', port + 1000),
  });
  io.stdout(`Temporal dev server: ${server.address} (namespace ${server.namespace})`);
  io.stdout(`Temporal Web UI:     ${server.uiUrl}`);
  io.stdout(`Workflows persist in ${server.dbFile}. Ctrl-C stops the server.`);
  const exited = new Promise<'exited'>((resolve) => server.child.once('exit', () => resolve('exited')));
  const why = await Promise.race([untilSignal(), exited]);
  await server.stop();
  if (why === 'exited') {
    io.stderr('the Temporal dev server exited on its own');
    return 1;
  }
  return 0;
}
