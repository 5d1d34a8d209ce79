/**
 * A deployment of separate processes for tests: `groq-governor worker` processes spawned from the CLI,
 * an in-process gateway (`buildGateway`), all on one fresh PostgreSQL database, one Temporal namespace of
 * their own on the shared dev server (so parallel files never take each other's tasks: the task queue
 * name is fixed), one in-process emulator mirroring the configuration with known key secrets handed to
 * the workers through the variables the config names (`secretEnv`), and one GOVERNOR_CODEC_KEY.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { inject } from 'vitest';
import { staticKeyResolver } from '../../activities/upstream-keys';
import type { RunningGateway } from '../../client/gateway/server';
import { buildGateway, clientOn, groqFactoryFor } from '../../client/services/components';
import { issueKey } from '../../client/services/gateway-keys';
import { emulatorConfigFor } from '../../client/services/upstream';
import { parseConfig, type GovernorConfig } from '../../domain/config';
import { generateKeySecret, startEmulator, type RunningEmulator } from '../../emulator';
import { openLedger, type LedgerStore } from '../../ledger';
import { dataConverterFor } from '../../workers/codec';
import { installRuntime } from '../../workers/runtime';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';
import { postgresTarget, probePostgres, testDatabaseUrl } from '../integration/ledger/harness';

const CLI = new URL('../../bin/groq-governor.js', import.meta.url).pathname;

/** Whether PostgreSQL answers; when it does not, prints a loud banner (the caller skips its tests). */
export async function postgresOrWarn(what: string): Promise<{ url: string; error: Error | null }> {
  const url = testDatabaseUrl();
  const error = await probePostgres(url);
  if (error) {
    const line = '!'.repeat(100);
    console.warn(
      [
        '',
        line,
        `!!! ${what} SKIPPED: no PostgreSQL server answered at ${new URL(url).host}: ${error.message}`,
        '!!! Several processes can only share a PostgreSQL ledger. Start one (or set TEST_DATABASE_URL).',
        line,
        '',
      ].join('\n'),
    );
  }
  return { url, error };
}

export interface WorkerProcess {
  name: string;
  child: ChildProcessWithoutNullStreams;
  output(): string;
}

export interface Deployment {
  config: GovernorConfig;
  ledger: LedgerStore;
  emulator: RunningEmulator;
  gateway: RunningGateway;
  workers: WorkerProcess[];
  databaseUrl: string;
  /** the proxy in front of PostgreSQL, with `databaseProxy` */
  proxy: TcpProxy | null;
  namespace: string;
  /** a member key of `team` */
  issueMemberKey(team: string): Promise<string>;
  startWorker(): Promise<WorkerProcess>;
  close(): Promise<void>;
}

export interface DeploymentOptions {
  /** the governor configuration (YAML); every upstream key needs a `secretEnv` */
  configYaml: string;
  workers: number;
  /** emulator latency per call */
  latencyMs?: number;
  /** one data folder for every worker (e.g. a shared secret store); default: a folder per worker */
  workerDataDir?: string;
  /** a Temporal server of the test's own instead of the shared dev server */
  temporalAddress?: string;
  /**
   * route the workers' and the gateway's database connections through a TCP proxy (test/support/tcp-proxy),
   * so a test can make PostgreSQL unreachable; `ledger` stays a direct connection for auditing
   */
  databaseProxy?: boolean;
}

async function registerNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } finally {
    await connection.close();
  }
}

export async function startDeployment(adminUrl: string, options: DeploymentOptions): Promise<Deployment> {
  const parsed = parseConfig(options.configYaml, 'multiprocess test config');
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const config = parsed.config;
  const dir = mkdtempSync(join(tmpdir(), 'gg-multiprocess-'));
  const configFile = join(dir, 'governor.yaml');
  writeFileSync(configFile, options.configYaml);

  const target = postgresTarget(adminUrl, 8);
  const { databaseUrl } = await target.fresh();
  if (!databaseUrl) throw new Error('no database URL');
  const ledger = await openLedger({ databaseUrl });
  let proxy: TcpProxy | null = null;
  let servedUrl = databaseUrl;
  if (options.databaseProxy) {
    const direct = new URL(databaseUrl);
    proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    direct.host = `127.0.0.1:${proxy.port}`;
    servedUrl = direct.toString();
  }
  const gatewayLedger = proxy ? await openLedger({ databaseUrl: servedUrl }) : ledger;

  const secrets = new Map<string, string>();
  const secretEnv: Record<string, string> = {};
  for (const key of config.upstreamKeys) {
    if (!key.secretEnv) throw new Error(`upstream key ${key.name} needs a secretEnv in the test config`);
    const secret = generateKeySecret();
    secrets.set(key.name, secret);
    secretEnv[key.secretEnv] = secret;
  }
  const emulator = await startEmulator({
    config: emulatorConfigFor(config),
    keys: [...secrets].map(([name, secret]) => ({ name, secret })),
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
  });

  const address = options.temporalAddress ?? inject('temporalDevAddress');
  const namespace = `gg-mp-${process.pid}-${randomBytes(3).toString('hex')}`;
  installRuntime('ERROR');
  await registerNamespace(address, namespace);
  const codecKey = randomBytes(32).toString('base64');

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...secretEnv,
    DATABASE_URL: servedUrl,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    GROQ_BASE_URL: emulator.url,
    GOVERNOR_CODEC_KEY: codecKey,
  };
  delete env.GROQ_API_KEY;
  delete env.GOVERNOR_CODEC_KEY_ID;

  const workers: WorkerProcess[] = [];
  let started = 0;
  async function startWorker(): Promise<WorkerProcess> {
    const name = `worker-${++started}`;
    const dataDir = options.workerDataDir ?? join(dir, name);
    const child = spawn(process.execPath, [CLI, 'worker', '--config', configFile, '--data-dir', dataDir], {
      env,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const worker = { name, child, output: () => output };
    workers.push(worker);
    const deadline = Date.now() + 90_000;
    while (!output.includes('Worker polling.')) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${name} exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`${name} did not start polling:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return worker;
  }
  for (let n = 0; n < options.workers; n++) await startWorker();

  const connection = await Connection.connect({ address });
  const dataConverter = await dataConverterFor({ dataDir: dir, env: { GOVERNOR_CODEC_KEY: codecKey } });
  const quiet = { info: () => undefined, warn: (line: string) => console.warn(`gateway: ${line}`) };
  const gateway = await buildGateway({
    client: clientOn(
      connection,
      { address, namespace, connectionOptions: { address }, configured: true },
      dataConverter,
    ),
    config,
    ledger: gatewayLedger,
    groq: groqFactoryFor({ baseURL: emulator.url, resolver: staticKeyResolver(secrets) }),
    logger: quiet,
    port: 0,
  });

  return {
    config,
    ledger,
    emulator,
    gateway,
    workers,
    databaseUrl,
    proxy,
    namespace,
    startWorker,
    async issueMemberKey(team) {
      return (await issueKey(ledger, 'operator', { team, role: 'member' }, config)).key;
    },
    async close() {
      await gateway.close().catch(() => undefined);
      await Promise.all(
        workers.map(async (worker) => {
          const { child } = worker;
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }),
      );
      await connection.close().catch(() => undefined);
      await emulator.close();
      if (gatewayLedger !== ledger) await gatewayLedger.close().catch(() => undefined);
      await proxy?.close();
      await ledger.close();
      await target.cleanup().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `tasks` with at most `limit` in flight; results in task order. */
export async function boundedAll<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return results;
}

/** The most timestamps in any interval [t, t + windowMs). */
export function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
