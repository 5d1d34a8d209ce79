/**
 * A governed-completion stack for tests: a configuration, the ledger (PGlite in memory unless a
 * database URL is given), the Groq emulator mirroring the configuration, the completion activities
 * wired to them, and a worker on the shared dev server with its own task queue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { AlertSink, BudgetAlert } from '../../activities/alerts';
import { createGroqClientFactory } from '../../activities/groq-client';
import type { RotationDeps } from '../../activities/rotation';
import { staticKeyResolver, type UpstreamKeyResolver } from '../../activities/upstream-keys';
import { startGateway, type RunningGateway } from '../../client/gateway/server';
import { createAuthenticator, issueKey, type AuthenticatorOptions } from '../../client/services/gateway-keys';
import { emulatorConfigFor } from '../../client/services/upstream';
import type { GovernorConfig } from '../../domain/config';
import type { Role } from '../../domain/rbac';
import { startEmulator, type RunningEmulator } from '../../emulator';
import { openLedger, type LedgerStore } from '../../ledger';
import { blobSealer, dataConverterFor, type GovernorDataConverter } from '../../workers/codec';
import { activityDeps } from '../../workers/dependencies';
import { uniqueTaskQueue, workflowBundle } from './temporal';

import { testConfig } from './test-config';
import { completionHandoffs } from '../../activities/completion/handoffs';
import type { CompletionHandoffs } from '../../activities/completion/types';

export { TEST_CONFIG, testConfig } from './test-config';

export interface CompletionStack {
  /** with `eager`: the boards streamed admissions and answers are announced on */
  handoffs?: CompletionHandoffs;
  config: GovernorConfig;
  ledger: LedgerStore;
  emulator: RunningEmulator;
  taskQueue: string;
  alerts: BudgetAlert[];
  /** the HTTP gateway, when the stack was started with `gateway: true` */
  gateway?: RunningGateway;
  /** the payload codec the worker and `client` use, when the stack was started with `codec: true` */
  dataConverter?: GovernorDataConverter;
  /** the Temporal client the gateway uses (with the codec when `codec: true`, else the env's client) */
  client: Client;
  issue(team: string | null, role?: Role, models?: string[]): Promise<{ key: string; id: string }>;
  close(): Promise<void>;
}

export interface CompletionStackOptions {
  config?: GovernorConfig;
  databaseUrl?: string;
  now?: () => number;
  gateway?: boolean;
  /**
   * as the embedded stack runs: the gateway's client shares the worker's connection and starts workflows
   * eagerly, and streamed admissions and answers go from the steps to the gateway in-process
   */
  eager?: boolean;
  /** the gateway's key authenticator (default: its 5 s cache) */
  authenticator?: AuthenticatorOptions;
  /**
   * encrypt payloads: the worker and the gateway's client get `dataConverterFor({ dataDir })` with a
   * key file in a temporary folder (removed on close)
   */
  codec?: boolean;
  /** also hand every alert to this sink (e.g. `createAlertSink` with webhooks); `alerts` still records them */
  alertSink?: AlertSink;
  /** change the worker's activities (a step that fails, say) before the worker starts */
  wrapActivities?: (activities: ReturnType<typeof createActivities>) => ReturnType<typeof createActivities>;
  /** key rotation: the resolver of versioned keys and the rotation activities, on the stack's ledger and emulator */
  rotation?: (
    ledger: LedgerStore,
    emulator: RunningEmulator,
  ) => Promise<{ resolver: UpstreamKeyResolver; rotation: RotationDeps }>;
}

export async function startCompletionStack(
  env: TestWorkflowEnvironment,
  options: CompletionStackOptions = {},
): Promise<CompletionStack> {
  const config = options.config ?? testConfig();
  const ledger = options.databaseUrl
    ? await openLedger({ databaseUrl: options.databaseUrl })
    : await openLedger({ inMemory: true });
  const emulator = await startEmulator({
    config: emulatorConfigFor(config),
    keys: config.upstreamKeys.map((key) => ({ name: key.name })),
  });
  const rotation = await options.rotation?.(ledger, emulator);
  const groq = createGroqClientFactory({
    baseURL: emulator.url,
    resolver: rotation?.resolver ?? staticKeyResolver(new Map(Object.entries(emulator.addedKeys))),
  });
  const alerts: BudgetAlert[] = [];
  const sink: AlertSink = {
    notify: async (alert) => {
      alerts.push(alert);
      await options.alertSink?.notify(alert);
    },
  };
  const codecDir = options.codec ? mkdtempSync(join(tmpdir(), 'gg-stack-codec-')) : undefined;
  const dataConverter = codecDir ? await dataConverterFor({ dataDir: codecDir, env: {} }) : undefined;
  const handoffs = options.eager ? completionHandoffs() : undefined;
  const client =
    dataConverter || options.eager
      ? new Client({
          connection: options.eager ? env.nativeConnection : env.connection,
          ...(dataConverter ? { dataConverter } : {}),
        })
      : env.client;
  const taskQueue = uniqueTaskQueue('completion');
  const quiet = { info: () => undefined, warn: () => undefined };
  const wrap = options.wrapActivities ?? ((activities) => activities);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: workflowBundle(),
    ...(dataConverter ? { dataConverter } : {}),
    activities: wrap(
      createActivities({
        ...activityDeps({ ledger, groq }),
        completion: {
          ledger,
          config: () => config,
          groq,
          alerts: sink,
          log: quiet,
          now: options.now ?? Date.now,
          identity: `test-worker-${process.pid}`,
          ...(handoffs ? { handoffs } : {}),
        },
        ...(rotation ? { rotation: rotation.rotation } : {}),
        ...(dataConverter ? { blobs: blobSealer(dataConverter.payloadCodecs) } : {}),
      }),
    ),
  });
  const running = worker.run();
  const gateway = options.gateway
    ? await startGateway({
        config: () => config,
        ledger,
        authenticator: createAuthenticator(ledger, options.authenticator),
        temporal: client,
        taskQueue,
        ...(options.eager ? { eagerStart: true } : {}),
        ...(handoffs ? { handoffs } : {}),
        streaming: { groq, identity: `test-gateway-${process.pid}` },
        log: quiet,
      })
    : undefined;
  return {
    ...(gateway ? { gateway } : {}),
    ...(handoffs ? { handoffs } : {}),
    ...(dataConverter ? { dataConverter } : {}),
    client,
    config,
    ledger,
    emulator,
    taskQueue,
    alerts,
    async issue(team, role = 'member', models) {
      const issued = await issueKey(
        ledger,
        'operator',
        { team, role, ...(models ? { models } : {}) },
        config,
      );
      return { key: issued.key, id: issued.record.id };
    },
    async close() {
      await gateway?.close();
      worker.shutdown();
      await running;
      await emulator.close();
      await ledger.close();
      if (codecDir) rmSync(codecDir, { recursive: true, force: true });
    },
  };
}
