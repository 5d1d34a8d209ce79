/**
 * A deployment for benchmarks that measure the worker on its own: a Temporal dev server, the emulator,
 * the PostgreSQL ledger of DATABASE_URL and the gateway in this process, and one `groq-governor worker`
 * process (with its egress) spawned from the CLI, as in production. `peakRss()` samples the worker's
 * process tree (the worker and its egress) from /proc.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { staticKeyResolver } from '../activities/upstream-keys';
import type { RunningGateway } from '../client/gateway/server';
import { buildGateway, groqFactoryFor } from '../client/services/components';
import { startDevServer, type RunningDevServer } from '../client/services/temporal-dev-server';
import { emulatorConfigFor } from '../client/services/upstream';
import type { GovernorConfig } from '../domain/config';
import { generateKeySecret, startEmulator, type RunningEmulator } from '../emulator';
import { openLedger, type LedgerStore } from '../ledger';
import { dataConverterFor } from '../workers/codec';
import { freePort } from './support';

const CLI = new URL('../bin/groq-governor.js', import.meta.url).pathname;

export interface SplitDeployment {
  ledger: LedgerStore;
  emulator: RunningEmulator;
  gateway: RunningGateway;
  client: Client;
  worker: ChildProcessWithoutNullStreams;
  /** resident memory of the worker and of its whole process tree (worker + egress), bytes */
  rss(): { worker: number; tree: number };
  stop(): Promise<void>;
}

function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

export async function startSplitDeployment(options: {
  config: GovernorConfig;
  /** the same configuration as YAML, for the worker process */
  configYaml: string;
  dataDir: string;
  databaseUrl: string;
  /** the worker's DATABASE_URL when it differs (e.g. a statement-counting relay); default databaseUrl */
  workerDatabaseUrl?: string;
  /** NODE_OPTIONS of the worker process (e.g. `--max-old-space-size=160`) */
  workerNodeOptions?: string;
}): Promise<SplitDeployment> {
  const { config, dataDir } = options;
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const port = await freePort();
    const devServer: RunningDevServer = await startDevServer({ dataDir, port, uiPort: await freePort() });
    cleanups.push(() => devServer.stop());
    const address = `127.0.0.1:${port}`;
    const ledger = await openLedger({ databaseUrl: options.databaseUrl });
    cleanups.push(() => ledger.close());

    const secrets = new Map<string, string>();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of config.upstreamKeys) {
      const secret = generateKeySecret();
      secrets.set(key.name, secret);
      if (key.secretEnv) env[key.secretEnv] = secret;
    }
    const emulator = await startEmulator({
      config: emulatorConfigFor(config),
      keys: [...secrets].map(([name, secret]) => ({ name, secret })),
    });
    cleanups.push(() => emulator.close());

    const codecKey = randomBytes(32).toString('base64');
    const configFile = join(dataDir, 'governor.yaml');
    writeFileSync(configFile, options.configYaml);
    Object.assign(env, {
      DATABASE_URL: options.workerDatabaseUrl ?? options.databaseUrl,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: 'default',
      GROQ_BASE_URL: emulator.url,
      GOVERNOR_CODEC_KEY: codecKey,
      LOG_LEVEL: 'warn',
    });
    if (options.workerNodeOptions) env.NODE_OPTIONS = options.workerNodeOptions;
    delete env.GROQ_API_KEY;
    const worker = spawn(
      process.execPath,
      [CLI, 'worker', '--config', configFile, '--data-dir', join(dataDir, 'worker')],
      {
        env,
      },
    );
    let output = '';
    worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    cleanups.push(async () => {
      if (worker.exitCode !== null || worker.signalCode !== null) return;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGTERM');
      const timer = setTimeout(() => worker.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    });
    const deadline = Date.now() + 120_000;
    while (!output.includes('Worker polling.')) {
      if (worker.exitCode !== null) throw new Error(`the worker exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the worker did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const connection = await Connection.connect({ address });
    cleanups.push(() => connection.close());
    const dataConverter = await dataConverterFor({ dataDir, env: { GOVERNOR_CODEC_KEY: codecKey } });
    const client = new Client({ connection, namespace: 'default', dataConverter });
    const gateway = await buildGateway({
      client,
      config,
      ledger,
      groq: groqFactoryFor({ baseURL: emulator.url, resolver: staticKeyResolver(secrets) }),
      logger: { info: () => undefined, warn: () => undefined },
      port: await freePort(),
    });
    cleanups.push(() => gateway.close());
    return {
      ledger,
      emulator,
      gateway,
      client,
      worker,
      rss() {
        const pid = worker.pid!;
        const own = rssOf(pid);
        return { worker: own, tree: own + childrenOf(pid).reduce((sum, child) => sum + rssOf(child), 0) };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
