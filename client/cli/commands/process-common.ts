/**
 * What `worker` and `gateway` share: flags, the configuration (a bad file starts nothing), the ledger,
 * the upstream and the payload codec, all for a process that joins an existing deployment.
 */
import type { Logger } from '../../../activities/alerts';
import { createLogger } from '../../services/logger';
import type { GovernorConfig } from '../../../domain/config';
import { describeLedgerTarget, openLedger, resolveLedgerTarget, type LedgerStore } from '../../../ledger';
import { installRuntime } from '../../../workers/runtime';
import { applyProcessSettings } from '../../../workers/process-settings';
import type { RotationDeps } from '../../../activities/rotation';
import { encryptedFileSecretStore } from '../../../activities/secret-store';
import { loadDataConverter, type DataConverter } from '../../services/components';
import { keyRotationServices } from '../../services/key-rotation';
import { resolveDataDir } from '../../services/paths';
import { temporalUiLinks } from '../../services/temporal-ui';
import { resolveTemporalTarget, type TemporalTarget } from '../../services/temporal-config';
import { connectUpstream, type Upstream } from '../../services/upstream';
import type { CliIO } from '../io';
import { checkedConfig } from './checked-config';

export interface ProcessBase {
  config: GovernorConfig;
  dataDir: string;
  target: TemporalTarget;
  ledger: LedgerStore;
  upstream: Upstream;
  dataConverter: DataConverter;
  logger: Logger;
  /** key versions and rotation: the secret store, the versioned resolver (inside `upstream`) */
  rotation: RotationDeps;
}

export async function prepareProcess(
  flags: { config?: string | undefined; 'data-dir'?: string | undefined },
  io: CliIO,
): Promise<ProcessBase | undefined> {
  const dataDir = resolveDataDir(flags['data-dir']);
  const checked = await checkedConfig(flags.config, dataDir, io);
  if (!checked) return undefined;
  const { config } = checked;
  let upstream: Upstream;
  try {
    upstream = connectUpstream(config);
  } catch (error) {
    // no secret in the environment: fine when the data folder's secret store holds key versions
    const stored = await (await encryptedFileSecretStore({ dataDir })).list();
    if (Object.keys(stored).length === 0) {
      io.stderr((error as Error).message);
      return undefined;
    }
    upstream = connectUpstream(config, process.env, { keysInStore: true });
  }
  applyProcessSettings();
  installRuntime();
  const target = resolveTemporalTarget();
  const ledgerTarget = resolveLedgerTarget({ dataDir });
  if (ledgerTarget.driver === 'pglite') {
    io.stderr(
      'note: the ledger is an embedded PGlite folder: joined through the ledger host of a running `up`, ' +
        'else opened by this process alone; set DATABASE_URL to share a PostgreSQL server instead.',
    );
  }
  const ledger = await openLedger({ dataDir });
  io.stdout(`Ledger: ${describeLedgerTarget(ledgerTarget)}, schema version ${ledger.migrations.current}`);
  io.stdout(`Temporal: ${target.address} (namespace ${target.namespace})`);
  const workflowsLink = temporalUiLinks(target).workflows();
  if (workflowsLink) io.stdout(`Temporal Web UI: ${workflowsLink}`);
  io.stdout(`Groq: ${upstream.baseURL}`);
  const dataConverter = await loadDataConverter(dataDir, (line) => io.stdout(line));
  const logger = createLogger();
  const keys = await keyRotationServices({ upstream, ledger, dataDir, config, logger });
  io.stdout(`Upstream key versions: ${keys.store.describe()}`);
  return {
    config,
    dataDir,
    target,
    ledger,
    upstream: keys.upstream,
    dataConverter,
    logger,
    rotation: keys.rotation,
  };
}

export const PROCESS_FLAGS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
} as const;
