/**
 * The child processes of the multi-process ledger tests (./child-worker.ts), spoken to one JSON line at
 * a time over stdio.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface Worker {
  child: ChildProcessWithoutNullStreams;
  next(): Promise<Record<string, unknown>>;
  send(line: string): void;
}

export function startWorker(job: Record<string, unknown>): Worker {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./child-worker.ts', import.meta.url)), JSON.stringify(job)],
    {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    child,
    async next() {
      const line = await lines.next();
      if (line.done) throw new Error(`worker exited early: ${stderr}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    },
    send(line) {
      child.stdin.write(line + '\n');
    },
  };
}
