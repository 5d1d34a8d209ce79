/**
 * The local Temporal dev server (`temporal server start-dev`), a real server whose SQLite file lives in
 * the data folder so workflows survive a restart. Started as a child process, awaited until it answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureTemporal } from '../../scripts/install-temporal.mjs';

/**
 * SQLite in write-ahead-log mode, still synced on every commit: as durable as the default rollback
 * journal (a committed start or workflow task survives a power loss), with one file sync per commit
 * instead of several, and reads that no longer wait for the writer. The dev server keeps one
 * connection, so every start, task completion and signal waits for the commits before it.
 */
const SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=FULL'];

/**
 * Dynamic config for many short workflows. The dev server runs every SQLite statement on one connection,
 * so each statement a workflow costs is time every other workflow waits for (docs/benchmarks.md, round 14).
 * - `start-dev` turns the search attributes' cache off unless this key is given, so each workflow start,
 *   task completion and visibility write read the cluster's metadata again (3-4 reads per workflow). No
 *   search attribute is registered at run time here (only Temporal's own), so a cached copy is never
 *   stale.
 * - The visibility queue is polled at most twice a second instead of 20 times. A workflow that has
 *   completed when its start's visibility task comes up gets no "running" record, only its closed one
 *   (Temporal skips the write), so a completion of a few tens of ms no longer costs a visibility write.
 *   Lists in the UI and `workflow list` lag its state by up to half a second more.
 */
export const DEV_SERVER_DYNAMIC_CONFIG = [
  'system.forceSearchAttributesCacheRefreshOnRead=false',
  'history.visibilityProcessorMaxPollRPS=2',
];

export interface DevServerOptions {
  dataDir: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  /** extra `start-dev` flags, e.g. dynamic config values */
  extraArgs?: string[];
  /** how long to wait for the server to answer */
  readyTimeoutMs?: number;
}

export interface RunningDevServer {
  address: string;
  uiUrl: string;
  namespace: string;
  dbFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Resolves when a Temporal frontend answers at `address`, or rejects after `timeoutMs`. */
export async function waitForTemporal(
  address: string,
  timeoutMs: number,
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new Error(`temporal exited with code ${child.exitCode} before answering`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`Temporal did not answer at ${address} within ${timeoutMs} ms: ${String(lastError)}`);
}

/** True when a Temporal frontend already answers at `address`. */
export async function temporalAnswers(address: string): Promise<boolean> {
  try {
    await waitForTemporal(address, 1500);
    return true;
  } catch {
    return false;
  }
}

export async function startDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  const { temporal } = ensureTemporal({ quiet: true });
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? port + 1000;
  const namespace = options.namespace ?? 'default';
  const dir = join(options.dataDir, 'temporal');
  mkdirSync(dir, { recursive: true });
  const dbFile = join(dir, 'temporal.sqlite');
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--namespace',
    namespace,
    '--db-filename',
    dbFile,
    '--log-level',
    'error',
    '--log-format',
    'pretty',
    ...SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]),
    ...DEV_SERVER_DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(temporal, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const address = `${ip}:${port}`;
  try {
    await waitForTemporal(address, options.readyTimeoutMs ?? 60_000, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    address,
    uiUrl: `http://${ip}:${uiPort}`,
    namespace,
    dbFile,
    child,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
