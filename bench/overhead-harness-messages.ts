/**
 * What `bench:overhead` and its two harness processes (the Groq emulator and the load generator) say to
 * each other over their IPC channels. The harness runs apart from the stack so that the stack's process
 * holds only the gateway, the worker and the ledger client: its CPU and RSS are the stack's own.
 */
import type { EmulatorConfigInput } from '../emulator';
import type { RunResult } from './overhead-load';

/** On the command line of every harness process: /proc tells them from the stack's processes by it. */
export const HARNESS_MARK = '--governor-bench-harness';

export interface EmulatorInit {
  config: EmulatorConfigInput;
  keyNames: string[];
  latencyMs: number;
}

export interface EmulatorReady {
  url: string;
  /** key name -> secret the emulator accepts */
  secrets: Record<string, string>;
}

export interface LoadInit {
  emulatorUrl: string;
  upstreamSecret: string;
  gatewayUrl: string;
  gatewayKey: string;
  model: string;
}

/** direct: groq-sdk to the emulator; governed: groq-sdk to the gateway; *Stream: time to first content */
export type SenderName = 'direct' | 'governed' | 'directStream' | 'governedStream';

export type LoadLimit = { count: number } | { durationMs: number };

/** What the benchmark asks the load generator to do */
export type LoadAsk =
  | { op: 'run'; sender: SenderName; concurrency: number; limit: LoadLimit }
  | { op: 'one'; sender: SenderName };

export type LoadRequest = LoadAsk & { id: number };

export interface LoadReply {
  id: number;
  /** op run: the closed loop's result */
  result?: RunResult;
  /** op one: the call's latency (streams: time to the first content chunk) */
  ms?: number;
  /** op one: why the call failed */
  error?: string;
  /** workflow ids of the last governed completions answered */
  governedIds: string[];
}
