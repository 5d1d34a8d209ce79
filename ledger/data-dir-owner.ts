/**
 * Who owns an embedded ledger folder. PGlite happily opens a folder that another instance is using, and
 * two instances writing one folder corrupt it, so exactly one process opens it: the owner. The lock file
 * next to the folder (`<dataDir>.lock`, mode 0600) names the owner; a ledger host (ledger/host) also
 * writes where it serves the folder and the password its clients use, so any other process joins it.
 *
 * A lock whose process is gone (`kill -9`) is stale and taken over; so is one whose process is alive but
 * is not a ledger host and does not answer on the recorded socket (its pid was reused). A live ledger
 * host is never taken over.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LedgerError } from './errors';

/** Where a ledger host serves: a Unix socket folder (`host` starting with '/') or a loopback port. */
export interface HostEndpoint {
  host: string;
  port: number;
  password: string;
}

export interface OwnerRecord {
  pid: number;
  /** present once a ledger host serves the folder */
  endpoint?: HostEndpoint;
}

export function lockPathOf(dataDir: string): string {
  return `${dataDir}.lock`;
}

/** Whether `pid` is a live process (a zombie, dead but not yet reaped, is not). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
  try {
    // Linux: the state follows the command name in parentheses
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The marker in a ledger host's command line (ledger/host/entry.mjs). */
export const HOST_MARKER = 'ledger/host/entry.mjs';

/** Whether `pid` runs a ledger host (Linux: its command line; elsewhere assumed so while it lives). */
export function isLedgerHostProcess(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(HOST_MARKER);
  } catch {
    return process.platform !== 'linux';
  }
}

function parseRecord(text: string): OwnerRecord | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const parsed = JSON.parse(trimmed) as Partial<OwnerRecord>;
    if (typeof parsed.pid !== 'number') return null;
    const endpoint = parsed.endpoint;
    if (
      endpoint &&
      typeof endpoint.host === 'string' &&
      typeof endpoint.port === 'number' &&
      typeof endpoint.password === 'string'
    )
      return { pid: parsed.pid, endpoint };
    return { pid: parsed.pid };
  } catch {
    return null;
  }
}

export async function readOwner(dataDir: string): Promise<OwnerRecord | null> {
  try {
    return parseRecord(await readFile(lockPathOf(dataDir), 'utf8'));
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
}

/** Removes the lock file if it still holds `record` (a new owner's lock is left alone). */
export async function removeStaleLock(dataDir: string, record: OwnerRecord | null): Promise<void> {
  const now = await readOwner(dataDir).catch(() => null);
  if (now === null || record === null || now.pid === record.pid)
    await rm(lockPathOf(dataDir), { force: true });
}

export interface DataDirClaim {
  /** write where this process serves the folder */
  publish(endpoint: HostEndpoint): Promise<void>;
  release(): Promise<void>;
}

function inUse(dataDir: string, owner: number): LedgerError {
  return new LedgerError(
    'data_dir_in_use',
    `the ledger data folder ${dataDir} is in use by process ${owner}${owner === process.pid ? ' (this one)' : ''}; ` +
      'one process opens a PGlite folder: start `groq-governor up` to share it, or share a PostgreSQL server through DATABASE_URL',
  );
}

/**
 * Become the folder's owner. A live owner in this process is refused at once; a live owner elsewhere is
 * waited for up to `waitMs` (a CLI command finishing, or a host that is about to publish its endpoint,
 * which `onHost` may then join instead: it returns true to stop claiming).
 */
export async function claimDataDir(
  dataDir: string,
  options: { waitMs?: number; onHost?: (record: OwnerRecord) => Promise<boolean> } = {},
): Promise<DataDirClaim | null> {
  const lockPath = lockPathOf(dataDir);
  await mkdir(dirname(lockPath), { recursive: true });
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (let attempt = 0; ; attempt++) {
    try {
      // the lock appears with its content at once (a hard link to a finished file), so a reader never
      // sees it empty
      const temp = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}`;
      await writeFile(temp, JSON.stringify({ pid: process.pid } satisfies OwnerRecord), { mode: 0o600 });
      try {
        await link(temp, lockPath);
      } finally {
        await rm(temp, { force: true });
      }
      return {
        async publish(endpoint) {
          const temp = `${lockPath}.${randomBytes(4).toString('hex')}`;
          await writeFile(temp, JSON.stringify({ pid: process.pid, endpoint } satisfies OwnerRecord), {
            mode: 0o600,
          });
          await rename(temp, lockPath);
        },
        async release() {
          const owner = await readOwner(dataDir).catch(() => null);
          if (owner?.pid === process.pid) await rm(lockPath, { force: true });
        },
      };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const owner = await readOwner(dataDir);
      if (owner === null || !processAlive(owner.pid)) {
        await removeStaleLock(dataDir, owner);
        continue;
      }
      if (owner.pid === process.pid) throw inUse(dataDir, owner.pid);
      if (owner.endpoint && options.onHost && (await options.onHost(owner))) return null;
      if (Date.now() >= deadline) throw inUse(dataDir, owner.pid);
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, 25 * 2 ** Math.min(attempt, 4))));
    }
  }
}
