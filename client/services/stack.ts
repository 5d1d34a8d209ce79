/**
 * A whole Groq Governor stack in one process tree: Temporal (the configured cluster, one already
 * answering, or a dev server started here with its SQLite file in the data folder), the ledger
 * (DATABASE_URL, or PGlite in the data folder served by a ledger host process that every other
 * command joins), the upstream (Groq or the emulator) and a worker.
 * Everything started here is stopped by `stop()`, in reverse order; nothing configured from outside is.
 */
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from '../../activities/alerts';
import { createLogger } from './logger';
import type { GovernorConfig } from '../../domain/config';
import { TASK_QUEUES } from '../../domain/task-queues';
import { describeLedgerTarget, openLedger, resolveLedgerTarget, type LedgerStore } from '../../ledger';
import { startLedgerHost } from '../../ledger/host/spawn';
import { installRuntime } from '../../workers/runtime';
import { applyProcessSettings } from '../../workers/process-settings';
import { connectWorker } from '../../workers/worker';
import type { SelfCheckResult } from '../../workflows/self-check';
import type { RunningGateway } from '../gateway/server';
import { buildGateway, buildWorker, clientOn, groqFactoryFor, loadDataConverter } from './components';
import { scheduleReports } from './components';
import { resolveTemporalTarget, type TemporalTarget } from './temporal-config';
import { startDevServer, temporalAnswers, type RunningDevServer } from './temporal-dev-server';
import { keyRotationServices } from './key-rotation';
import { startUpstream, type Upstream } from './upstream';
import { completionHandoffs } from '../../activities/completion/handoffs';

export interface StackOptions {
  config: GovernorConfig;
  dataDir: string;
  temporalPort: number;
  temporalUiPort: number;
  /** the emulator's port, when the stack starts one (no upstream given and no Groq key set) */
  emulatorPort?: number;
  /**
   * An upstream already running, such as an emulator in another process (the benchmarks): used as it is,
   * neither started nor closed here
   */
  upstream?: Upstream;
  gatewayPort: number;
  log: (line: string) => void;
  /** structured logs of the workers and the gateway (default: JSON lines on the console) */
  logger?: Logger;
  /** the port of the dev server's Prometheus `/metrics` (the benchmarks read it); default: a random one */
  temporalMetricsPort?: number;
}

export interface RunningStack {
  temporal: { target: TemporalTarget; uiUrl?: string; started: boolean };
  ledger: LedgerStore;
  ledgerDescription: string;
  upstream: Upstream;
  gateway: RunningGateway;
  client: Client;
  selfCheck: SelfCheckResult;
  /** resolves (or rejects) when the worker stops on its own */
  workerDone: Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { config, dataDir, log } = options;
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error) => log(`shutdown: ${String(error)}`));
    cleanups.length = 0;
  };
  try {
    applyProcessSettings();
    installRuntime();
    const target = resolveTemporalTarget({ address: `127.0.0.1:${options.temporalPort}` });
    let devServer: RunningDevServer | undefined;
    if (target.configured) {
      log(`Temporal: using ${target.address} (namespace ${target.namespace}) from the environment`);
    } else if (await temporalAnswers(target.address)) {
      log(`Temporal: reusing the server already answering at ${target.address}`);
    } else {
      log(`Temporal: starting the dev server on ${target.address}`);
      devServer = await startDevServer({
        dataDir,
        port: options.temporalPort,
        uiPort: options.temporalUiPort,
        ...(options.temporalMetricsPort !== undefined
          ? { extraArgs: ['--metrics-port', String(options.temporalMetricsPort)] }
          : {}),
      });
      cleanups.push(() => devServer!.stop());
    }

    const ledgerTarget = resolveLedgerTarget({ dataDir });
    let ledgerDescription = describeLedgerTarget(ledgerTarget);
    if (ledgerTarget.driver === 'pglite' && ledgerTarget.dataDir !== null) {
      // PGlite runs in its own process; this process's worker and gateway join it like any other
      const host = await startLedgerHost(ledgerTarget.dataDir);
      cleanups.push(() => host.stop());
      ledgerDescription += `, served by ${host.started ? '' : 'the running '}ledger host ${host.pid} on ${host.address}`;
    }
    const ledger = await openLedger({ dataDir });
    cleanups.push(() => ledger.close());
    log(`Ledger: ${ledgerDescription}, schema version ${ledger.migrations.current}`);

    const started =
      options.upstream ?? (await startUpstream(config, { emulatorPort: options.emulatorPort ?? 0 }));
    if (!options.upstream) cleanups.push(() => started.close());
    log(
      started.kind === 'emulator'
        ? `Groq: emulator at ${started.baseURL} (no GROQ_API_KEY or upstream key secret set)`
        : `Groq: ${started.baseURL}`,
    );

    const dataConverter = await loadDataConverter(dataDir, log);
    const logger = options.logger ?? createLogger({ base: { component: 'governor' } });
    // upstream keys with versions (rotation) come from the secret store; the rest as before
    const keys = await keyRotationServices({ upstream: started, ledger, dataDir, config, logger });
    const upstream = keys.upstream;
    log(`Upstream key versions: ${keys.store.describe()}`);
    const workerConnection: NativeConnection = await connectWorker(target);
    cleanups.push(() => workerConnection.close());
    const groq = groqFactoryFor(upstream);
    // admissions of streamed requests and answers of the others go from this worker's steps to the
    // gateway in-process
    const handoffs = completionHandoffs();
    const worker: Worker = await buildWorker({
      connection: workerConnection,
      target,
      config,
      ledger,
      groq,
      dataConverter,
      logger,
      rotation: keys.rotation,
      handoffs,
    });
    const workerDone = worker.run();
    cleanups.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerDone.catch(() => undefined);
    });

    // the client shares the worker's connection, so workflows start eagerly on this process's worker
    const client = clientOn(workerConnection, target, dataConverter);
    await scheduleReports(client, config, log);
    const gateway = await buildGateway({
      client,
      config,
      ledger,
      groq,
      logger,
      port: options.gatewayPort,
      eagerStart: true,
      handoffs,
    });
    cleanups.push(() => gateway.close());
    const firstKey = config.upstreamKeys[0]?.name ?? 'default';
    const selfCheck: SelfCheckResult = await client.workflow.execute('selfCheck', {
      taskQueue: TASK_QUEUES.main,
      workflowId: `self-check-${new Date().toISOString()}`,
      args: [{ keyName: firstKey, maxProbes: 3, probeInterval: '2 seconds' }],
    });

    return {
      temporal: {
        target,
        ...(devServer ? { uiUrl: devServer.uiUrl } : {}),
        started: devServer !== undefined,
      },
      ledger,
      ledgerDescription,
      upstream,
      gateway,
      client,
      selfCheck,
      workerDone,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
