/**
 * The worker's side of its egress: spawns the egress process (./process.ts), hands it its settings and a
 * fresh token over IPC, and starts a new one if it ever exits while the worker runs. The egress is a
 * child process, not a thread, so that it outlives a worker that is killed: it finishes and journals the
 * calls in flight, then exits on its own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { EgressMessage, EgressSettings } from './process';

const ENTRY = fileURLToPath(new URL('./entry.mjs', import.meta.url));

export interface EgressHandle {
  /** the current egress's base URL (a restarted egress listens elsewhere) */
  url(): string;
  token: string;
  pid(): number | undefined;
  close(): Promise<void>;
}

export interface EgressProcessOptions {
  upstreamBaseUrl: string;
  identity: string;
  callTimeoutMs?: number;
  /** DATABASE_URL and the rest; default: this process's environment */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

function launch(
  options: EgressProcessOptions,
  token: string,
  log: (line: string) => void,
): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(ENTRY, [], {
    env: options.env ?? process.env,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    serialization: 'json',
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the egress process did not start within 30 s'));
    }, 30_000);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`the egress process exited at start (${signal ?? code})`));
    };
    child.once('exit', onExit);
    child.on('message', (message: EgressMessage) => {
      if (message.type === 'log') log(message.line);
      else if (message.type === 'failed') log(`egress: ${message.message}`);
      else if (message.type === 'ready') {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, url: message.url });
      }
    });
    const settings: EgressSettings = {
      type: 'start',
      upstreamBaseUrl: options.upstreamBaseUrl,
      token,
      identity: options.identity,
      callTimeoutMs: options.callTimeoutMs ?? 60_000,
    };
    child.send(settings);
  });
}

export async function startEgressProcess(options: EgressProcessOptions): Promise<EgressHandle> {
  const log = options.log ?? (() => undefined);
  const token = randomBytes(24).toString('base64url');
  let current = await launch(options, token, log);
  let closing = false;
  const watch = (child: ChildProcess) => {
    child.once('exit', (code, signal) => {
      if (closing) return;
      log(`egress process ${child.pid} exited (${signal ?? code}); starting another`);
      const retry = (): void => {
        void launch(options, token, log).then(
          (next) => {
            current = next;
            watch(next.child);
          },
          (error: unknown) => {
            log(`egress: ${(error as Error).message}; trying again in 1 s`);
            if (!closing) setTimeout(retry, 1000).unref();
          },
        );
      };
      retry();
    });
  };
  watch(current.child);
  return {
    url: () => current.url,
    token,
    pid: () => current.child.pid,
    async close() {
      closing = true;
      const { child } = current;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}
