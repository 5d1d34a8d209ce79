/**
 * The harness of `bench:overhead` in processes of its own: the Groq emulator and the load generator
 * (bench/overhead-emulator-child.ts, bench/overhead-load-child.ts), forked with tsx's loader and marked
 * with HARNESS_MARK. The stack's process then holds what a deployment runs (gateway, worker, ledger
 * client), and its CPU and RSS are measured without the emulator's or the clients'.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { staticKeyResolver } from '../activities/upstream-keys';
import type { Upstream } from '../client/services/upstream';
import {
  HARNESS_MARK,
  type EmulatorInit,
  type EmulatorReady,
  type LoadAsk,
  type LoadInit,
  type LoadLimit,
  type LoadReply,
  type LoadRequest,
  type SenderName,
} from './overhead-harness-messages';
import type { RunResult } from './overhead-load';

function forkChild(file: string): ChildProcess {
  return fork(fileURLToPath(new URL(file, import.meta.url)), [HARNESS_MARK], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** The child's first message, or its exit as an error. */
function firstMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the ${what} process exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as T);
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
  });
}

export interface EmulatorProcess {
  url: string;
  secrets: Record<string, string>;
  pid: number;
  /** the stack's upstream: this emulator, with its secrets by key name */
  upstream(): Upstream;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(init: EmulatorInit): Promise<EmulatorProcess> {
  const child = forkChild('./overhead-emulator-child.ts');
  const ready = firstMessage<EmulatorReady>(child, 'emulator');
  child.send(init);
  const { url, secrets } = await ready;
  return {
    url,
    secrets,
    pid: child.pid ?? 0,
    upstream: () => ({
      kind: 'groq',
      baseURL: url,
      resolver: staticKeyResolver(new Map(Object.entries(secrets))),
      close: async () => undefined,
    }),
    stop: () => stopChild(child),
  };
}

export class LoadProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: LoadReply) => void>();
  /** workflow ids of the last governed completions the load generator saw answered */
  governedIds: string[] = [];

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: LoadReply) => {
      this.governedIds = message.governedIds;
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
    child.once('exit', (code) => {
      for (const settle of this.waiting.values())
        settle({ id: 0, error: `the load generator exited (${code})`, governedIds: [] });
      this.waiting.clear();
    });
  }

  static async start(init: LoadInit): Promise<LoadProcess> {
    const child = forkChild('./overhead-load-child.ts');
    const ready = firstMessage<unknown>(child, 'load generator');
    child.send(init);
    await ready;
    return new LoadProcess(child);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  private ask(request: LoadAsk): Promise<LoadReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      const message: LoadRequest = { ...request, id };
      this.child.send(message);
    });
  }

  /** A closed-loop run in the load generator (see run() in overhead-load.ts). */
  async run(sender: SenderName, concurrency: number, limit: LoadLimit): Promise<RunResult> {
    const reply = await this.ask({ op: 'run', sender, concurrency, limit });
    if (!reply.result) throw new Error(reply.error ?? 'the load generator gave no result');
    return reply.result;
  }

  /** One call; resolves with its latency as the load generator measured it, rejects with its error. */
  async one(sender: SenderName): Promise<{ latencyMs: number }> {
    const reply = await this.ask({ op: 'one', sender });
    if (reply.ms === undefined) throw new Error(reply.error ?? 'the load generator gave no latency');
    return { latencyMs: reply.ms };
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}
