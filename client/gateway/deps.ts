/**
 * What the gateway's handlers are given, in a file of its own so that the handlers and the server that
 * routes to them do not import each other.
 */
import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import type { Logger } from '../../activities/alerts';
import type { GroqClientFactory } from '../../activities/groq-client';
import type { CompletionHandoffs } from '../../activities/completion/types';
import type { GovernorConfig } from '../../domain/config';
import type { Principal } from '../../domain/rbac';
import type { LedgerStore } from '../../ledger';
import type { KeyAuthenticator } from '../services/gateway-keys';
import type { GatewayMetrics } from './metrics';

export interface StreamingDeps {
  groq: GroqClientFactory;
  /** names the gateway in reservation claims */
  identity: string;
}

export interface GatewayDeps {
  config: () => GovernorConfig;
  ledger: LedgerStore;
  authenticator: KeyAuthenticator;
  temporal: Client;
  taskQueue: string;
  /** start workflows on a worker in this same process without a server round trip */
  eagerStart?: boolean;
  /**
   * where the steps of a workflow started eagerly on this process's worker hand over a streamed
   * request's admission and a completion's answer (the embedded stack); without it, or when a workflow
   * did not start here, the gateway asks the workflow (the `admission` update, the workflow's result)
   */
  handoffs?: CompletionHandoffs;
  streaming: StreamingDeps;
  log: Logger;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  metrics: GatewayMetrics;
  /**
   * Graceful shutdown: stop accepting, answer new requests on open connections with 503, let in-flight
   * requests finish (up to `graceMs`, default 30 s), then close every connection.
   */
  close(graceMs?: number): Promise<void>;
}

export interface RequestContext {
  requestId: string;
  principal: Principal;
  headers: Record<string, string>;
}
