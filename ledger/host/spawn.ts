/**
 * Starting a ledger host for an embedded folder (`up` does): a child process (./process.ts) that owns
 * the PGlite folder and serves it on a socket. When a host already serves the folder it is joined
 * instead, and left running on stop.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeEndpoint, findLedgerHost } from '../driver-socket';
import type { HostMessage, ParentMessage } from './messages';

const ENTRY = fileURLToPath(new URL('./entry.mjs', import.meta.url));

/**
 * The host's V8 flags. Its JavaScript only moves wire-protocol messages between sockets and PGlite, so
 * V8's young generation stays small: 2 MB semi-spaces instead of Node's default of up to 16 MB. Three
 * runs of `bench:ledger-host` each way: the host's RSS at the end 245, 251, 258 MB before, 209, 224, 231
 * MB after, its CPU 19.1, 19.8, 22.8 s before, 18.9, 19.0, 22.0 s after. The rest of the host: PGlite's WebAssembly memory (33 MB
 * of its 128 MB touched), the compiled PostgreSQL and V8's old space, malloc's heap (25 MB) and the Node
 * binary (39 MB); docs/benchmarks.md, round 13.
 */
export const LEDGER_HOST_EXEC_ARGV = ['--max-semi-space-size=2'];

export interface LedgerHostHandle {
  pid: number;
  /** where it serves, e.g. `/path/.data/.s.PGSQL.5432` or `127.0.0.1:41234` */
  address: string;
  /** whether this process started it (and stop() ends it) */
  started: boolean;
  stop(): Promise<void>;
}

export async function startLedgerHost(
  ledgerDir: string,
  options: { startTimeoutMs?: number; stopTimeoutMs?: number } = {},
): Promise<LedgerHostHandle> {
  const running = await findLedgerHost(ledgerDir);
  if (running)
    return {
      pid: running.pid,
      address: describeEndpoint(running.endpoint),
      started: false,
      stop: async () => undefined,
    };
  const child = fork(ENTRY, [ledgerDir], {
    // the entry registers its own loader; this process's flags (an eval script, test runners') stay here
    execArgv: LEDGER_HOST_EXEC_ARGV,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Extract<HostMessage, { type: 'ready' }>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`the ledger host did not start within ${(options.startTimeoutMs ?? 120_000) / 1000} s`),
      );
    }, options.startTimeoutMs ?? 120_000);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`the ledger host exited at start (${signal ?? code})`));
    };
    child.once('exit', onExit);
    child.on('message', (message: HostMessage) => {
      if (message.type === 'failed') {
        clearTimeout(timer);
        child.off('exit', onExit);
        reject(new Error(`the ledger host could not start: ${message.message}`));
      } else if (message.type === 'ready') {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(message);
      }
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    pid: ready.pid,
    address: describeEndpoint(ready.endpoint),
    started: true,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.send({ type: 'stop' } satisfies ParentMessage);
        const timer = setTimeout(() => child.kill('SIGKILL'), options.stopTimeoutMs ?? 30_000);
        await exited;
        clearTimeout(timer);
      })()),
  };
}
