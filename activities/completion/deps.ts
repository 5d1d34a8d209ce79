/** What the governed-completion activities are built from. */
import type { GovernorConfig } from '../../domain/config';
import type { LedgerStore } from '../../ledger';
import type { AlertSink, Logger } from '../alerts';
import type { GroqClientFactory } from '../groq-client';
import type { CompletionHandoffs } from './types';

export interface CompletionDeps {
  ledger: LedgerStore;
  /** the current configuration (a function, so a reload is picked up without a restart) */
  config: () => GovernorConfig;
  groq: GroqClientFactory;
  alerts: AlertSink;
  log: Logger;
  /** epoch ms */
  now: () => number;
  /** names this worker in call claims, e.g. "worker@host:pid" */
  identity: string;
  /** where a gateway in this process waits for its requests' admissions and answers (embedded stack) */
  handoffs?: CompletionHandoffs;
}
