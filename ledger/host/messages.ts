/** What a ledger host process and the process that started it tell each other over IPC. */
import type { HostEndpoint } from '../data-dir-owner';

export type HostMessage =
  | { type: 'ready'; pid: number; endpoint: Omit<HostEndpoint, 'password'> }
  | { type: 'failed'; message: string };

export type ParentMessage = { type: 'stop' };
