/**
 * The building blocks every process kind shares: `up` (everything in one process), `worker` and
 * `gateway` (separate processes sharing one PostgreSQL and one Temporal cluster) put these together.
 */
import { hostname } from 'node:os';
import { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createAlertSink, type Logger } from '../../activities/alerts';
import {
  createGroqClientFactory,
  type EgressRoute,
  type GroqClientFactory,
} from '../../activities/groq-client';
import type { RotationDeps } from '../../activities/rotation';
import type { GovernorConfig } from '../../domain/config';
import { TASK_QUEUES } from '../../domain/task-queues';
import type { LedgerStore } from '../../ledger';
import { blobSealer, dataConverterFromKeys, describeCodecKeys, loadCodecKeys } from '../../workers/codec';
import { activityDeps } from '../../workers/dependencies';
import { createGovernorWorker } from '../../workers/worker';
import { startEgressProcess, type EgressHandle } from '../../workers/egress/spawn';
import { startGateway, type RunningGateway } from '../gateway/server';
import { createAuthenticator } from './gateway-keys';
import { ensureReportSchedule, REPORT_SCHEDULE_ID } from './report-schedule';
import type { TemporalTarget } from './temporal-config';
import type { Upstream } from './upstream';
import type { CompletionHandoffs } from '../../activities/completion/types';

export type DataConverter = ReturnType<typeof dataConverterFromKeys>;

export function processIdentity(role: 'worker' | 'gateway'): string {
  return `${role}@${hostname()}:${process.pid}`;
}

/** The payload codec's data converter, from GOVERNOR_CODEC_KEY or the data folder's key file. */
export async function loadDataConverter(
  dataDir: string,
  log: (line: string) => void,
): Promise<DataConverter> {
  const keyring = await loadCodecKeys({ dataDir });
  log(`Temporal payloads: ${describeCodecKeys(keyring)}`);
  return dataConverterFromKeys(keyring);
}

export function groqFactoryFor(
  upstream: Pick<Upstream, 'baseURL' | 'resolver'>,
  egress?: EgressRoute,
): GroqClientFactory {
  return createGroqClientFactory({
    baseURL: upstream.baseURL,
    resolver: upstream.resolver,
    ...(egress ? { egress } : {}),
  });
}

/**
 * A worker's egress process (workers/egress), when its ledger is a PostgreSQL database the egress can
 * journal to and GOVERNOR_EGRESS is not `off`: completion calls then go through it, and a call in flight
 * when the worker dies still has its answer booked. With PGlite (one process) there is none.
 */
export async function startWorkerEgress(
  ledger: LedgerStore,
  upstream: Pick<Upstream, 'baseURL'>,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EgressHandle | undefined> {
  if (ledger.driver !== 'postgres' || env.GOVERNOR_EGRESS === 'off' || !env.DATABASE_URL) return undefined;
  const egress = await startEgressProcess({
    upstreamBaseUrl: upstream.baseURL,
    identity: `egress@${hostname()}:${process.pid}`,
    env,
    log,
  });
  log(`Egress: process ${egress.pid()} at ${egress.url()} (completion answers journaled in the ledger)`);
  return egress;
}

export async function buildWorker(options: {
  connection: NativeConnection;
  target: TemporalTarget;
  config: GovernorConfig;
  ledger: LedgerStore;
  groq: GroqClientFactory;
  dataConverter: DataConverter;
  logger: Logger;
  /** the key-rotation activities' dependencies (client/services/key-rotation.ts) */
  rotation?: RotationDeps;
  /** shared with a gateway in this process that starts workflows eagerly on this worker */
  handoffs?: CompletionHandoffs;
}): Promise<Worker> {
  const { config, ledger, groq, logger } = options;
  return createGovernorWorker({
    connection: options.connection,
    namespace: options.target.namespace,
    dataConverter: options.dataConverter,
    identity: processIdentity('worker'),
    activities: createActivities({
      ...activityDeps({ ledger, groq }),
      completion: {
        ledger,
        config: () => config,
        groq,
        alerts: createAlertSink({ webhooks: config.org.webhooks, log: logger }),
        log: logger,
        now: Date.now,
        identity: processIdentity('worker'),
        ...(options.handoffs ? { handoffs: options.handoffs } : {}),
      },
      reports: { ledger, config: () => config, log: logger, now: Date.now },
      ...(options.rotation ? { rotation: options.rotation } : {}),
      blobs: blobSealer(options.dataConverter.payloadCodecs ?? []),
    }),
  });
}

export async function buildGateway(options: {
  client: Client;
  config: GovernorConfig;
  ledger: LedgerStore;
  groq: GroqClientFactory;
  logger: Logger;
  port: number;
  host?: string;
  /** only when a worker runs in this process on the client's connection */
  eagerStart?: boolean;
  /** the boards that worker's steps announce admissions and answers on */
  handoffs?: CompletionHandoffs;
}): Promise<RunningGateway> {
  return startGateway(
    {
      config: () => options.config,
      ledger: options.ledger,
      authenticator: createAuthenticator(options.ledger),
      temporal: options.client,
      taskQueue: TASK_QUEUES.main,
      eagerStart: options.eagerStart ?? false,
      ...(options.handoffs ? { handoffs: options.handoffs } : {}),
      streaming: { groq: options.groq, identity: processIdentity('gateway') },
      log: options.logger,
    },
    { port: options.port, ...(options.host ? { host: options.host } : {}) },
  );
}

export function clientOn(
  connection: Client['connection'],
  target: TemporalTarget,
  dataConverter: DataConverter,
): Client {
  return new Client({ connection, namespace: target.namespace, dataConverter });
}

/**
 * Worker start: create or update the weekly report Schedule. A failure is logged loudly and does not
 * stop the worker (completions matter more than reports); the next worker start tries again.
 */
export async function scheduleReports(
  client: Client,
  config: GovernorConfig,
  log: (line: string) => void,
): Promise<void> {
  try {
    const outcome = await ensureReportSchedule(client, config);
    const { dayOfWeek, hour, minute } = config.reports.schedule;
    log(
      `Reports: schedule ${REPORT_SCHEDULE_ID} ${outcome} (${dayOfWeek} ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')} ${config.org.timezone})`,
    );
  } catch (error) {
    log(`Reports: could not create or update schedule ${REPORT_SCHEDULE_ID}: ${String(error)}`);
  }
}
