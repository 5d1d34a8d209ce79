/**
 * Wiring: turns the process's real services (the ledger, the Groq client factory) into the
 * dependencies the activity factories take. The only place where activities meet concrete I/O.
 */
import type { ActivityDeps } from '../activities';
import type { GroqClientFactory } from '../activities/groq-client';
import { appliedMigrations, type LedgerStore } from '../ledger';

export interface WorkerServices {
  ledger: LedgerStore;
  groq: GroqClientFactory;
}

export function activityDeps(services: WorkerServices): ActivityDeps {
  return {
    async ledgerSchemaVersion() {
      const applied = await appliedMigrations(services.ledger.sql);
      return applied.reduce((newest, row) => Math.max(newest, row.version), 0);
    },
    async listUpstreamModels(keyName) {
      const { client } = await services.groq.clientFor(keyName);
      const page = await client.models.list();
      return page.data.map((model) => model.id);
    },
  };
}
