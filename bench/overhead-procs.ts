/**
 * This process's descendants, from /proc: which belong to the Temporal dev server (a process whose
 * command line names `temporal`, and everything below it), which to the benchmark's harness (the
 * emulator and load generator processes, marked with HARNESS_MARK, and the esbuild service `tsx` runs to
 * load TypeScript) and which are the rest of the stack (a ledger child process, short-lived helpers),
 * with their CPU time and RSS. Empty where there is no /proc.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { HARNESS_MARK } from './overhead-harness-messages';

export type ProcessKind = 'devServer' | 'harness' | 'stack';

export interface ProcessEntry {
  pid: number;
  /** devServer: the dev server or one of its descendants; harness: the emulator, the load generator, esbuild */
  kind: ProcessKind;
  /** user + system CPU seconds of the process itself (100 ticks/s) */
  cpuSeconds: number;
  rssBytes: number;
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) children.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // exited, or no /proc
  }
  return children;
}

/** The Temporal dev server: its program is the `temporal` CLI (`temporal server start-dev ...`). */
export function isTemporalCommand(argv: string[]): boolean {
  const program = basename(argv[0] ?? '');
  return program.includes('temporal') || (argv.includes('server') && argv.includes('start-dev'));
}

/**
 * The benchmark's own processes (the emulator and the load generator) and the esbuild service `tsx`
 * starts to transform TypeScript: not part of the stack.
 */
export function isHarnessCommand(argv: string[]): boolean {
  if (argv.includes(HARNESS_MARK)) return true;
  return basename(argv[0] ?? '') === 'esbuild' && argv.some((arg) => arg.startsWith('--service'));
}

export function readEntry(pid: number, kind: ProcessKind = 'stack'): ProcessEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return {
      pid,
      kind,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100,
      rssBytes: kb * 1024,
    };
  } catch {
    return undefined;
  }
}

/** Every descendant of `root` (default this process), classified. */
export function descendants(root = process.pid): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  const walk = (pid: number, parentKind: ProcessKind) => {
    for (const child of childrenOf(pid)) {
      let kind = parentKind;
      if (kind === 'stack') {
        try {
          const argv = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean);
          kind = isTemporalCommand(argv) ? 'devServer' : isHarnessCommand(argv) ? 'harness' : 'stack';
        } catch {
          continue;
        }
      }
      const entry = readEntry(child, kind);
      if (entry) entries.push(entry);
      walk(child, kind);
    }
  };
  walk(root, 'stack');
  return entries;
}

/** CPU seconds the processes of one kind used between two samples (a process gone by `end` is lost). */
export function cpuBetween(start: ProcessEntry[], end: ProcessEntry[], kind: ProcessKind): number {
  const before = new Map(start.map((entry) => [entry.pid, entry.cpuSeconds]));
  let total = 0;
  for (const entry of end) if (entry.kind === kind) total += entry.cpuSeconds - (before.get(entry.pid) ?? 0);
  return total;
}

export function rssOf(entries: ProcessEntry[], kind: ProcessKind): number {
  return entries.filter((entry) => entry.kind === kind).reduce((sum, e) => sum + e.rssBytes, 0);
}

/** CPU ms of this process (user + system) since `since` (a process.cpuUsage() value). */
export function processCpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** What the stack used during one timed run: this process and its descendants, by kind. */
export interface CpuWindow {
  processMs: number;
  /** descendants other than the dev server and the harness (a ledger process, helpers) */
  othersMs: number;
  devServerMs: number;
  /** the emulator and the load generator (and esbuild) */
  harnessMs: number;
}

export function startCpuWindow(): () => CpuWindow {
  const cpu0 = process.cpuUsage();
  const tree0 = descendants();
  return () => {
    const processMs = processCpuMs(cpu0);
    const tree1 = descendants();
    return {
      processMs,
      othersMs: cpuBetween(tree0, tree1, 'stack') * 1000,
      devServerMs: cpuBetween(tree0, tree1, 'devServer') * 1000,
      harnessMs: cpuBetween(tree0, tree1, 'harness') * 1000,
    };
  };
}
